//! Helpers for moorline's browser tests (wasm32 only): the URL and API key of the
//! gateway started by `cargo xtask test` (read at build time from
//! `MOORLINE_GATEWAY_WS` and `MOORLINE_GATEWAY_KEY`), its `/stats`, an admin
//! disconnect, polling, forced GC, JS heap and wasm memory readings, and a console
//! capture for warning/error checks; and the fixtures the adapter tests share (a
//! `Tick` message, a recorder of what a probe component showed, a memory gate).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gloo_timers::future::TimeoutFuture;
use moorline_core::{live, Client, ClientOptions, ConnectionState, RegistryConfig, SessionConfig};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The gateway's WebSocket URL.
#[allow(clippy::option_env_unwrap)] // A missing URL is a setup error: fail loudly.
pub fn gateway_ws() -> &'static str {
    option_env!("MOORLINE_GATEWAY_WS")
        .expect("MOORLINE_GATEWAY_WS must name a running gateway; run `cargo xtask test`")
}

fn http_base() -> String {
    gateway_ws().replace("ws://", "http://").replace("/ws", "")
}

/// A channel name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

async fn fetch_text(request: web_sys::Request) -> String {
    let window = web_sys::window().unwrap();
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

/// `GET /stats?channel=NAME` as JSON.
pub async fn stats(channel: &str) -> serde_json::Value {
    let request =
        web_sys::Request::new_with_str(&format!("{}/stats?channel={channel}", http_base()))
            .unwrap();
    serde_json::from_str(&fetch_text(request).await).unwrap()
}

/// One field of a channel's stats (`subscribers`, `subscribes_total`, `last_offset`).
pub async fn channel_stat(channel: &str, field: &str) -> u64 {
    stats(channel).await["channel"][field].as_u64().unwrap()
}

/// Wait (up to 5 s) until the gateway reports `want` subscribers on `channel`.
pub async fn wait_subscribers(channel: &str, want: u64) -> bool {
    for _ in 0..250 {
        if channel_stat(channel, "subscribers").await == want {
            return true;
        }
        TimeoutFuture::new(20).await;
    }
    false
}

/// Ask the gateway to close every connection with `code` (`POST /admin/disconnect`).
pub async fn disconnect_all(code: u16) -> u64 {
    let key = option_env!("MOORLINE_GATEWAY_KEY").unwrap_or_default();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().unwrap();
    headers
        .set("Authorization", &format!("Bearer {key}"))
        .unwrap();
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(
        &format!("{}/admin/disconnect?code={code}", http_base()),
        &init,
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_str(&fetch_text(request).await).unwrap();
    body["closed"]
        .as_u64()
        .unwrap_or_else(|| panic!("admin disconnect failed: {body}"))
}

/// Poll `check` every 10 ms for at most `ms` milliseconds.
pub async fn eventually(ms: u32, mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..ms / 10 {
        if check() {
            return true;
        }
        TimeoutFuture::new(10).await;
    }
    check()
}

/// Sleep.
pub async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// `performance.memory.usedJSHeapSize` (Chrome with `--enable-precise-memory-info`).
pub fn js_heap() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let memory = js_sys::Reflect::get(&perf, &"memory".into()).unwrap();
    js_sys::Reflect::get(&memory, &"usedJSHeapSize".into())
        .unwrap()
        .as_f64()
        .expect("performance.memory (chrome --enable-precise-memory-info)")
}

/// Run `globalThis.gc()` a few times (Chrome with `--js-flags=--expose-gc`).
pub async fn force_gc() {
    let gc: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"gc".into())
        .unwrap()
        .dyn_into()
        .expect("globalThis.gc (chrome --js-flags=--expose-gc)");
    for _ in 0..3 {
        gc.call0(&JsValue::NULL).unwrap();
        TimeoutFuture::new(50).await;
    }
}

/// Size of the wasm linear memory in bytes.
pub fn wasm_memory() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().dyn_into().unwrap();
    let buffer: js_sys::ArrayBuffer = memory.buffer().dyn_into().unwrap();
    buffer.byte_length() as f64
}

/// Print a line to the test output.
pub fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

/// Records every `console.warn` and `console.error` while alive (the originals still
/// run). Dropping it restores the originals.
pub struct ConsoleCapture {
    lines: Rc<RefCell<Vec<String>>>,
    originals: Vec<(&'static str, JsValue)>,
    _closures: Vec<Closure<dyn Fn(JsValue)>>,
}

impl ConsoleCapture {
    /// Start capturing.
    pub fn start() -> Self {
        let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        let lines = Rc::new(RefCell::new(Vec::new()));
        let mut originals = Vec::new();
        let mut closures = Vec::new();
        for method in ["warn", "error"] {
            let original = js_sys::Reflect::get(&console, &method.into()).unwrap();
            let lines = lines.clone();
            let forward: js_sys::Function = original.clone().dyn_into().unwrap();
            let console_for_call = console.clone();
            let closure = Closure::<dyn Fn(JsValue)>::new(move |value: JsValue| {
                lines.borrow_mut().push(format!(
                    "console.{method}: {}",
                    value.as_string().unwrap_or_else(|| format!("{value:?}"))
                ));
                let _ = forward.call1(&console_for_call, &value);
            });
            js_sys::Reflect::set(&console, &method.into(), closure.as_ref()).unwrap();
            originals.push((method, original));
            closures.push(closure);
        }
        Self {
            lines,
            originals,
            _closures: closures,
        }
    }

    /// What was captured so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }
}

impl Drop for ConsoleCapture {
    fn drop(&mut self) {
        let console = js_sys::Reflect::get(&js_sys::global(), &"console".into()).unwrap();
        for (method, original) in &self.originals {
            let _ = js_sys::Reflect::set(&console, &(*method).into(), original);
        }
    }
}

/// The message the adapter tests publish: the channel it was sent on and a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// The channel the message was published on.
    pub ch: String,
    /// A number, distinct per message.
    pub n: u32,
}

/// A [`Tick`].
pub fn tick(ch: &str, n: u32) -> Tick {
    Tick {
        ch: ch.to_owned(),
        n,
    }
}

/// Client options with `linger_ms` of linger and room for 20,000 queued publishes.
pub fn client_options(linger_ms: u64) -> ClientOptions {
    ClientOptions {
        registry: RegistryConfig {
            linger: Duration::from_millis(linger_ms),
            ..RegistryConfig::default()
        },
        session: SessionConfig {
            outbox_capacity: 20_000,
            ..SessionConfig::default()
        },
        ..ClientOptions::default()
    }
}

/// A publisher on a socket of its own.
pub fn publisher() -> Client {
    Client::connect(gateway_ws(), client_options(0)).unwrap()
}

thread_local! {
    /// (channel of the component at render time, channel the shown message came from, n)
    static SEEN: RefCell<Vec<(String, String, u32)>> = const { RefCell::new(Vec::new()) };
    static STATES: RefCell<Vec<ConnectionState>> = const { RefCell::new(Vec::new()) };
}

/// Record that a component on `channel` showed `tick`.
pub fn record_shown(channel: &str, tick: &Tick) {
    SEEN.with(|s| {
        s.borrow_mut()
            .push((channel.to_owned(), tick.ch.clone(), tick.n))
    });
}

/// What was recorded by [`record_shown`].
pub fn seen() -> Vec<(String, String, u32)> {
    SEEN.with(|s| s.borrow().clone())
}

/// Whether a shown message had number `n`.
pub fn saw(n: u32) -> bool {
    SEEN.with(|s| s.borrow().iter().any(|(_, _, m)| *m == n))
}

/// Record a connection state (consecutive repeats are kept once).
pub fn record_state(state: ConnectionState) {
    STATES.with(|s| {
        let mut s = s.borrow_mut();
        if s.last() != Some(&state) {
            s.push(state);
        }
    });
}

/// The recorded states.
pub fn states() -> Vec<ConnectionState> {
    STATES.with(|s| s.borrow().clone())
}

/// Whether the recorded states went to `Reconnecting` and later back to `Open`.
pub fn reconnected_then_open() -> bool {
    let states = states();
    states
        .iter()
        .position(|s| *s == ConnectionState::Reconnecting)
        .is_some_and(|i| states[i..].contains(&ConnectionState::Open))
}

/// Forget everything recorded.
pub fn reset_records() {
    SEEN.with(|s| s.borrow_mut().clear());
    STATES.with(|s| s.borrow_mut().clear());
}

/// The memory gate: run `cycle(100)` as a warm-up, wait for the live counters to
/// settle, force a GC and take the baseline; run `cycle(cycles)`; then every live
/// counter must be 0, the JS heap after a forced GC within `heap_bound` bytes of the
/// baseline, and wasm linear memory at most one 64 KiB page larger. Prints the numbers.
pub async fn memory_gate(
    label: &str,
    cycles: usize,
    heap_bound: f64,
    mut cycle: impl AsyncFnMut(usize),
) {
    cycle(100).await;
    assert!(
        eventually(5000, || live().handles == 0 && live().clients == 0).await,
        "{:?}",
        live()
    );
    force_gc().await;
    let heap_before = js_heap();
    let wasm_before = wasm_memory();
    cycle(cycles).await;
    assert!(eventually(5000, || live().is_zero()).await, "{:?}", live());
    force_gc().await;
    let heap_after = js_heap();
    let wasm_after = wasm_memory();
    let delta = heap_after - heap_before;
    log(&format!(
        "{label} memory gate: {cycles} cycles; JS heap {heap_before:.0} -> {heap_after:.0} bytes \
         (delta {delta:+.0}, bound {heap_bound:.0}); wasm memory {wasm_before:.0} -> {wasm_after:.0} bytes; live {:?}",
        live()
    ));
    assert!(live().is_zero());
    assert!(delta < heap_bound, "JS heap grew by {delta} bytes");
    // Linear memory grows in 64 KiB pages; after the warm-up it may take at most one.
    assert!(
        wasm_after - wasm_before <= 65_536.0,
        "wasm memory grew after warm-up: {wasm_before} -> {wasm_after}"
    );
}
