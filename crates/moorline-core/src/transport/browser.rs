//! Browser transport (wasm32): `web_sys::WebSocket`, gloo timers and page listeners.
//!
//! Every JS callback is a `gloo_events::EventListener` or `gloo_timers` timeout owned
//! by a Rust value; dropping the value removes the handler. Callbacks hold only a
//! weak reference to the client, so they never keep it alive. Page listeners
//! (`visibilitychange`, `online`, `offline`) are added once per client and removed
//! when it drops. Nothing is `forget`-ed.

use crate::client::{Client, ClientInner, Shared, WeakShared};
use crate::metrics::{Live, LiveGuard};
use crate::session::{Action, ConnectionState, SocketId};
use crate::ClientError;
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, VisibilityState, WebSocket};
use web_time::Instant;

pub(crate) struct Io {
    state: RefCell<IoState>,
}

#[derive(Default)]
struct IoState {
    socket: Option<BrowserSocket>,
    timer: Option<OwnedTimer>,
    page: Vec<Callback>,
    keepalive: Option<Shared<ClientInner>>,
}

impl Io {
    pub(crate) fn new() -> Result<Io, ClientError> {
        Ok(Io {
            state: RefCell::new(IoState::default()),
        })
    }
}

/// An event listener counted as a live callback.
struct Callback {
    _listener: EventListener,
    _live: LiveGuard,
}

impl Callback {
    fn new(
        target: &web_sys::EventTarget,
        event: &'static str,
        f: impl FnMut(&web_sys::Event) + 'static,
    ) -> Self {
        Callback {
            _listener: EventListener::new(target, event, f),
            _live: LiveGuard::new(Live::Callback),
        }
    }
}

/// A pending timeout (dropping it cancels it) for one deadline.
struct OwnedTimer {
    deadline: Instant,
    _timeout: Timeout,
    _timer: LiveGuard,
    _callback: LiveGuard,
}

/// One `WebSocket` with its four listeners. Dropping it removes the listeners and
/// closes the socket with 1000 when it is still connecting or open.
struct BrowserSocket {
    id: SocketId,
    ws: WebSocket,
    _listeners: [Callback; 4],
    _live: LiveGuard,
}

impl Drop for BrowserSocket {
    fn drop(&mut self) {
        let state = self.ws.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = self.ws.close_with_code_and_reason(1000, "released");
        }
        // The listeners are removed when the fields drop, right after this.
    }
}

fn with_client(weak: &WeakShared<ClientInner>, f: impl FnOnce(&Shared<ClientInner>)) {
    if let Some(inner) = weak.upgrade() {
        f(&inner);
        pump(&inner);
    }
}

impl BrowserSocket {
    fn open(
        url: &str,
        id: SocketId,
        weak: &WeakShared<ClientInner>,
    ) -> Result<Self, wasm_bindgen::JsValue> {
        let ws = WebSocket::new(url)?;
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let target: &web_sys::EventTarget = ws.as_ref();
        let on_open = {
            let weak = weak.clone();
            Callback::new(target, "open", move |_| {
                with_client(&weak, |inner| {
                    inner.engine().session.on_open(id, Instant::now())
                })
            })
        };
        let on_message = {
            let weak = weak.clone();
            Callback::new(target, "message", move |event| {
                let Some(event) = event.dyn_ref::<MessageEvent>() else {
                    return;
                };
                let data = event.data();
                with_client(&weak, |inner| {
                    let now = Instant::now();
                    match data.as_string() {
                        Some(text) => inner.engine().on_text(id, &text, now),
                        None => inner.engine().on_binary(id, now),
                    }
                })
            })
        };
        let on_close = {
            let weak = weak.clone();
            Callback::new(target, "close", move |event| {
                let (code, reason) = event
                    .dyn_ref::<CloseEvent>()
                    .map(|e| (e.code(), e.reason()))
                    .unwrap_or((1006, String::new()));
                with_client(&weak, |inner| {
                    inner.engine().on_close(id, code, &reason, Instant::now())
                })
            })
        };
        let on_error = {
            let weak = weak.clone();
            Callback::new(target, "error", move |_| {
                with_client(&weak, |inner| {
                    inner.engine().session.on_error(id, Instant::now())
                })
            })
        };
        Ok(BrowserSocket {
            id,
            ws,
            _listeners: [on_open, on_message, on_close, on_error],
            _live: LiveGuard::new(Live::Socket),
        })
    }
}

pub(crate) fn start(inner: &Shared<ClientInner>) {
    sync_page_listeners(inner, true);
}

/// Page listeners exist exactly while the client is not closed: a closed client has
/// no callback left in the page.
fn sync_page_listeners(inner: &Shared<ClientInner>, wanted: bool) {
    let have = !inner.io.state.borrow().page.is_empty();
    if have == wanted {
        return;
    }
    if !wanted {
        let old = std::mem::take(&mut inner.io.state.borrow_mut().page);
        drop(old);
        return;
    }
    let weak = Shared::downgrade(inner);
    let mut page = Vec::new();
    if let Some(window) = web_sys::window() {
        if let Some(document) = window.document() {
            let doc = document.clone();
            let weak = weak.clone();
            page.push(Callback::new(
                document.as_ref(),
                "visibilitychange",
                move |_| {
                    let visible = doc.visibility_state() == VisibilityState::Visible;
                    with_client(&weak, |inner| {
                        inner.engine().session.set_visible(visible, Instant::now())
                    })
                },
            ));
        }
        for (event, online) in [("online", true), ("offline", false)] {
            let weak = weak.clone();
            page.push(Callback::new(window.as_ref(), event, move |_| {
                with_client(&weak, |inner| {
                    inner.engine().session.set_online(online, Instant::now())
                })
            }));
        }
    }
    inner.io.state.borrow_mut().page = page;
}

/// Carry out everything the engine wants done, until it wants nothing more; then
/// arm the one timer for its next deadline.
pub(crate) fn pump(inner: &Shared<ClientInner>) {
    // Each round either does I/O or stops; a failing send ends in a drop, which
    // yields at most a reconnect, so a handful of rounds always suffices.
    for _ in 0..16 {
        let (actions, transmits, deadline, lingering, closed) = {
            let mut engine = inner.engine();
            let actions = engine.take_io_actions();
            let mut transmits = Vec::new();
            while let Some(frame) = engine.session.poll_transmit() {
                transmits.push(frame);
            }
            let closed = engine.session.state() == ConnectionState::Closed;
            (
                actions,
                transmits,
                engine.poll_timeout(),
                engine.registry.is_lingering(),
                closed,
            )
        };
        if actions.is_empty() && transmits.is_empty() {
            settle(inner, deadline, lingering, closed);
            return;
        }
        let mut garbage = Vec::new();
        for action in actions {
            match action {
                Action::Connect(id) => {
                    let opened = BrowserSocket::open(&inner.url, id, &Shared::downgrade(inner));
                    let mut state = inner.io.state.borrow_mut();
                    garbage.extend(state.socket.take());
                    match opened {
                        Ok(socket) => state.socket = Some(socket),
                        Err(_) => {
                            drop(state);
                            inner.engine().session.on_error(id, Instant::now());
                        }
                    }
                }
                Action::Close {
                    socket,
                    code,
                    reason,
                } => {
                    let state = inner.io.state.borrow();
                    if let Some(open) = state.socket.as_ref().filter(|s| s.id == socket) {
                        let _ = open.ws.close_with_code_and_reason(code.as_u16(), reason);
                    }
                }
                Action::Release(socket) => {
                    let mut state = inner.io.state.borrow_mut();
                    if state.socket.as_ref().is_some_and(|s| s.id == socket) {
                        garbage.extend(state.socket.take());
                    }
                }
                _ => {}
            }
        }
        for (socket, text) in transmits {
            let failed = {
                let state = inner.io.state.borrow();
                match state.socket.as_ref().filter(|s| s.id == socket) {
                    Some(open) => open.ws.send_with_str(&text).is_err(),
                    None => false,
                }
            };
            if failed {
                inner.engine().session.on_error(socket, Instant::now());
            }
        }
        drop(garbage);
    }
    // Still busy after every round (a pathological socket): settle for now; the
    // timer or the next event pumps again.
    let (deadline, lingering, closed) = {
        let engine = inner.engine();
        let closed = engine.session.state() == ConnectionState::Closed;
        (
            engine.poll_timeout(),
            engine.registry.is_lingering(),
            closed,
        )
    };
    settle(inner, deadline, lingering, closed);
}

/// Arm the one timer, keep page listeners only while not closed, and keep the client
/// alive only while a channel lingers.
fn settle(inner: &Shared<ClientInner>, deadline: Option<Instant>, lingering: bool, closed: bool) {
    arm_timer(inner, deadline);
    sync_page_listeners(inner, !closed);
    let keep = lingering.then(|| inner.clone());
    let old = std::mem::replace(&mut inner.io.state.borrow_mut().keepalive, keep);
    drop(old);
}

fn arm_timer(inner: &Shared<ClientInner>, deadline: Option<Instant>) {
    let mut state = inner.io.state.borrow_mut();
    if state.timer.as_ref().map(|t| t.deadline) == deadline {
        return;
    }
    let old = state.timer.take();
    if let Some(deadline) = deadline {
        let wait = deadline.saturating_duration_since(Instant::now());
        // +1 ms: the timer must not fire before the deadline it serves.
        let millis = u32::try_from(wait.as_millis())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let weak = Shared::downgrade(inner);
        let timeout = Timeout::new(millis, move || {
            if let Some(inner) = weak.upgrade() {
                // This timer has fired: forget it so the next pump arms a new one.
                let fired = inner.io.state.borrow_mut().timer.take();
                drop(fired);
                inner.engine().handle_timeout(Instant::now());
                pump(&inner);
            }
        });
        state.timer = Some(OwnedTimer {
            deadline,
            _timeout: timeout,
            _timer: LiveGuard::new(Live::Timer),
            _callback: LiveGuard::new(Live::Callback),
        });
    }
    drop(state);
    drop(old);
}

pub(crate) fn random_seed() -> u64 {
    (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
}

thread_local! {
    static SHARED: RefCell<HashMap<String, WeakShared<ClientInner>>> = RefCell::new(HashMap::new());
}

pub(crate) fn shared_client(
    key: &str,
    create: impl FnOnce() -> Result<Client, ClientError>,
) -> Result<Client, ClientError> {
    let existing = SHARED.with(|map| {
        let mut map = map.borrow_mut();
        map.retain(|_, weak| weak.strong_count() > 0);
        map.get(key).and_then(Client::from_weak)
    });
    if let Some(client) = existing {
        return Ok(client);
    }
    let client = create()?;
    SHARED.with(|map| map.borrow_mut().insert(key.to_owned(), client.downgrade()));
    Ok(client)
}
