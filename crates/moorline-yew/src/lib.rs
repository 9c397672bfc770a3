//! moorline-yew: real-time channels for Yew 0.23 function components that never leak.
//!
//! The same names as moorline-leptos, in Yew's idioms:
//!
//! | hook | returns |
//! |---|---|
//! | [`use_realtime_channel`], [`use_realtime_channel_with_options`] | [`UseRealtimeChannelHandle`]: `message()`, `state()`, `error()`, `metrics()`, `publish`, `close`, `reconnect` |
//! | [`use_realtime_keyed`], [`use_realtime_keyed_with_options`] | [`UseRealtimeKeyedHandle`]: a bounded map of the latest message per key |
//!
//! [`RealtimeProvider`] gives every hook below it the same connection; a hook can
//! also name its own URL. One socket per URL in the page either way.
//!
//! What the hooks guarantee: teardown runs in the destructor of `use_effect_with`
//! (the subscription is released, moorline-core's linger absorbs remounts: mount →
//! unmount → mount is one socket and one subscribe frame); a message that arrives
//! after unmount never updates state; a change of channel or URL re-subscribes and no
//! message of the old channel is shown after the switch; handles never expose a
//! `RefCell` and never hold a borrow across a call, so they cannot panic with
//! `BorrowMutError`.
//!
//! # Usage
//!
//! ```no_run
//! use moorline_yew::{use_realtime_channel, RealtimeProvider};
//! use yew::prelude::*;
//!
//! #[function_component]
//! fn App() -> Html {
//!     html! {
//!         <RealtimeProvider url="ws://127.0.0.1:8080/ws">
//!             <Ticker/>
//!         </RealtimeProvider>
//!     }
//! }
//!
//! #[function_component]
//! fn Ticker() -> Html {
//!     let prices = use_realtime_channel::<f64>("prices");
//!     let onclick = {
//!         let prices = prices.clone();
//!         Callback::from(move |_| {
//!             let _ = prices.publish(&42.0);
//!         })
//!     };
//!     html! {
//!         <p>
//!             { format!("{} {:?}", prices.state().as_str(), prices.message()) }
//!             <button {onclick}>{ "publish" }</button>
//!         </p>
//!     }
//! }
//! ```
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `ssr` | no | builds with `yew/ssr`; hooks stay inert on the server |
//!
//! # SSR
//!
//! Effects never run during server-side rendering, and the hooks create their client
//! only inside effects, so rendering on the server opens no socket: `message()` is
//! `None`, `state()` is `Idle`, `publish` returns [`RealtimeError::ServerSide`].

mod channel;
mod context;
mod controls;
mod driver;
mod keyed;

pub use channel::{
    use_realtime_channel, use_realtime_channel_with_options, UseRealtimeChannelHandle,
    UseRealtimeChannelOptions,
};
pub use context::{RealtimeContext, RealtimeProvider, RealtimeProviderProps};
pub use keyed::{
    use_realtime_keyed, use_realtime_keyed_with_options, UseRealtimeKeyedHandle,
    UseRealtimeKeyedOptions,
};
pub use moorline_core::{ClientOptions, ConnectionState, EvictionPolicy, KeyedMap, RealtimeError};
