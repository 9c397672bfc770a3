//! moorline-core: the framework-free client engine of moorline.
//!
//! It speaks moorline's JSON wire protocol to a moorline gateway and makes the whole
//! lifecycle of a real-time connection deterministic: every socket, callback and timer
//! has exactly one owner and is detached when that owner drops.
//!
//! - [`protocol`]: frames, channel-name rules, the [`CloseCode`] contract.
//! - [`session`]: a sans-IO state machine (connect, backoff with full jitter,
//!   heartbeat deadline, resubscribe, visibility/online, terminal close).
//! - [`registry`]: ref-counted channel subscriptions with generation ids and a linger.
//! - [`queue`]: bounded queues with a named [`OverflowPolicy`]; every drop is counted.
//! - [`metrics`]: client snapshots and process-wide live-resource counters.
//! - [`keyed`]: a bounded map of the latest value per key, with a named eviction policy.
//! - [`Client`]: all of it over the browser `WebSocket` (wasm32) or tokio-tungstenite
//!   (feature `native`).
//!
//! # Usage
//!
//! ```no_run
//! # #[cfg(feature = "native")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::StreamExt;
//! use moorline_core::{Client, ClientOptions};
//!
//! let client = Client::connect("ws://127.0.0.1:8080/ws", ClientOptions::default())?;
//! let mut prices = client.subscribe::<f64>("prices")?;
//! client.publish("prices", &101.5)?;
//! while let Some(item) = prices.next().await {
//!     match item {
//!         Ok(msg) => println!("#{} {}", msg.offset, msg.data),
//!         Err(err) => eprintln!("{err}"), // e.g. a message that did not decode
//!     }
//! }
//! drop(prices); // released: unsubscribed after the linger
//! client.close(); // terminal: 1000, no reconnect
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `native` | no | the tokio-tungstenite transport for native clients (tests, load generators, services) |
//!
//! On `wasm32-unknown-unknown` the browser transport is always on. A native build
//! without `native` still has the protocol, session, registry, queue and metrics;
//! [`Client::connect`] then fails with [`ClientError::NoTransport`].
//!
//! # SSR
//!
//! The core never touches a browser API outside wasm32, so it compiles on a server.
//! The UI adapters keep their hooks inert under SSR; nothing here connects unless you
//! call [`Client::connect`].

// Without a transport (native build, no `native` feature) the I/O glue is unused.
#![cfg_attr(
    all(not(target_arch = "wasm32"), not(feature = "native")),
    allow(dead_code)
)]

mod client;
mod close_code;
mod engine;
mod hook_error;
pub mod keyed;
pub mod metrics;
pub mod protocol;
pub mod queue;
pub mod registry;
pub mod session;
mod transport;

pub use client::{
    Client, ClientError, ClientOptions, Events, Message, Subscription, SubscriptionError,
};
pub use close_code::CloseCode;
pub use engine::{ClientErrorEvent, ClientEvent};
pub use hook_error::RealtimeError;
pub use keyed::{EvictionPolicy, KeyedMap};
pub use metrics::{live, ClientMetrics, LiveCounts};
pub use queue::OverflowPolicy;
pub use registry::RegistryConfig;
pub use session::{Backoff, ConnectionState, SessionConfig};
