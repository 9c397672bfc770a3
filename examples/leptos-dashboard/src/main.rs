//! moorline example: a Leptos (CSR) dashboard served by the gateway (`cargo xtask demo`).
//!
//! - Ticker: `use_realtime_keyed` on `ticks`, one row per symbol (bounded map).
//! - Chat: `use_realtime_keyed` on `chat` (the last 20 lines) and `publish`.
//! - Connection panel: state, uptime, reconnects, closes by code, queue depths and the
//!   page's live-resource counters.
//! - Stress: mounts and unmounts widgets every 20 ms; the "leaked" counters (live
//!   resources minus the baseline taken when stress started) return to 0 after it stops.

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
fn main() {
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("leptos-dashboard runs in the browser: cargo xtask demo");
}
