//! moorline-leptos: real-time channels for Leptos 0.8 that never leak.
//!
//! Hooks in the leptos-use style (three items each):
//!
//! | hook | returns |
//! |---|---|
//! | [`use_realtime_channel`], [`use_realtime_channel_with_options`] | [`UseRealtimeChannelReturn`]: latest message, state, error, metrics signals; `publish`, `close`, `reconnect` |
//! | [`use_realtime_keyed`], [`use_realtime_keyed_with_options`] | [`UseRealtimeKeyedReturn`]: a bounded map of the latest message per key |
//!
//! [`provide_realtime`] puts one shared client in context; hooks use it, or connect by
//! the URL in their options (one socket per URL in the page either way).
//!
//! What the hooks guarantee: on cleanup the subscription is released (moorline-core's
//! linger absorbs remounts: mount → unmount → mount is one socket and one subscribe
//! frame), the hook's tasks are aborted, and no message touches a disposed signal;
//! a channel switch stops the old subscription before the new one starts; the
//! callables are safe to call after unmount (they do nothing).
//!
//! # Usage
//!
//! ```no_run
//! use leptos::prelude::*;
//! use moorline_leptos::{provide_realtime, use_realtime_channel, UseRealtimeChannelReturn};
//! use moorline_core::ClientOptions;
//!
//! #[component]
//! fn App() -> impl IntoView {
//!     provide_realtime("ws://127.0.0.1:8080/ws", ClientOptions::default());
//!     view! { <Ticker/> }
//! }
//!
//! #[component]
//! fn Ticker() -> impl IntoView {
//!     let UseRealtimeChannelReturn { message, state, publish, .. } =
//!         use_realtime_channel::<f64>("prices");
//!     view! {
//!         <p>{move || format!("{} {:?}", state.get().as_str(), message.get())}</p>
//!         <button on:click=move |_| { let _ = publish.call(&42.0); }>"publish"</button>
//!     }
//! }
//! ```
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `ssr` | no | server-side rendering: hooks are inert (enables `leptos/ssr`) |
//!
//! # SSR
//!
//! With `ssr` (and on any native target) no client is created and no effect runs:
//! the signals hold their initial values (`None`, [`ConnectionState::Idle`]),
//! `publish` returns [`RealtimeError::ServerSide`], `close` and `reconnect` do
//! nothing. After hydration in the browser the hooks connect as usual.

mod callables;
mod channel;
mod context;
mod driver;
mod keyed;

pub use callables::{Publish, Trigger};
pub use channel::{
    use_realtime_channel, use_realtime_channel_with_options, UseRealtimeChannelOptions,
    UseRealtimeChannelReturn,
};
pub use context::{provide_realtime, RealtimeContext};
pub use keyed::{
    use_realtime_keyed, use_realtime_keyed_with_options, UseRealtimeKeyedOptions,
    UseRealtimeKeyedReturn,
};
pub use moorline_core::{ClientOptions, ConnectionState, EvictionPolicy, KeyedMap, RealtimeError};
