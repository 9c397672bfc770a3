//! moorline example: a Yew (CSR) dashboard served by the gateway (`cargo xtask demo`).
//!
//! The same features as the Leptos dashboard: a ticker (`use_realtime_keyed`), a chat
//! (`use_realtime_keyed` + `publish`), a connection panel with live-resource counters,
//! and a stress toggle whose "leaked" counters return to 0 after it stops.

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("yew-dashboard runs in the browser: cargo xtask demo");
}
