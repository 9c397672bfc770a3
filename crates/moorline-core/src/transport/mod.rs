//! Transports: the browser's `WebSocket` on wasm32, tokio-tungstenite with the
//! `native` feature. Each carries out the engine's actions and feeds it socket,
//! timer and page events.

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub(crate) use browser::{pump, random_seed, shared_client, start, Io};

#[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
mod native;
#[cfg(all(not(target_arch = "wasm32"), feature = "native"))]
pub(crate) use native::{pump, random_seed, shared_client, start, Io};

#[cfg(all(not(target_arch = "wasm32"), not(feature = "native")))]
mod none;
#[cfg(all(not(target_arch = "wasm32"), not(feature = "native")))]
pub(crate) use none::{pump, random_seed, shared_client, start, Io};
