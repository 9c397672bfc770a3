//! Native transport (feature `native`): one tokio task per client drives the engine
//! over tokio-tungstenite. The task holds only a weak reference to the client, so it
//! ends (closing the socket with 1000) once the client is dropped.

use crate::client::{Client, ClientInner, Shared, WeakShared};
use crate::metrics::{Live, LiveGuard};
use crate::session::{Action, SocketId};
use crate::ClientError;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use web_time::Instant;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Connecting = Pin<Box<dyn Future<Output = Result<Ws, tungstenite::Error>> + Send>>;

/// How long a released socket may take to finish its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub(crate) struct Io {
    notify: Arc<Notify>,
    runtime: tokio::runtime::Handle,
    keepalive: Mutex<Option<Shared<ClientInner>>>,
}

impl Io {
    pub(crate) fn new() -> Result<Io, ClientError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ClientError::NoRuntime)?;
        Ok(Io {
            notify: Arc::new(Notify::new()),
            runtime,
            keepalive: Mutex::new(None),
        })
    }

    fn set_keepalive(&self, value: Option<Shared<ClientInner>>) {
        let old = {
            let mut slot = self
                .keepalive
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(&mut *slot, value)
        };
        drop(old);
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        // Wake the task: it finds the client gone, closes the socket and ends.
        self.notify.notify_one();
    }
}

pub(crate) fn start(inner: &Shared<ClientInner>) {
    let weak = Shared::downgrade(inner);
    let notify = inner.io.notify.clone();
    let url = inner.url.clone();
    inner.io.runtime.spawn(run(weak, notify, url));
}

pub(crate) fn pump(inner: &Shared<ClientInner>) {
    inner.io.notify.notify_one();
}

pub(crate) fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    nanos ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub(crate) fn shared_client(
    key: &str,
    create: impl FnOnce() -> Result<Client, ClientError>,
) -> Result<Client, ClientError> {
    static SHARED: OnceLock<Mutex<HashMap<String, WeakShared<ClientInner>>>> = OnceLock::new();
    let map = SHARED.get_or_init(Default::default);
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.retain(|_, weak| weak.strong_count() > 0);
    if let Some(client) = map.get(key).and_then(Client::from_weak) {
        return Ok(client);
    }
    let client = create()?;
    map.insert(key.to_owned(), client.downgrade());
    Ok(client)
}

struct Socket {
    id: SocketId,
    ws: Ws,
    _live: LiveGuard,
}

enum Event {
    Opened(SocketId, Box<Ws>),
    Text(SocketId, String),
    Binary(SocketId),
    Closed(SocketId, u16, String),
    Failed(SocketId),
    Timeout,
    Wake,
}

async fn run(weak: WeakShared<ClientInner>, notify: Arc<Notify>, url: String) {
    let mut socket: Option<Socket> = None;
    let mut connecting: Option<(SocketId, Connecting)> = None;
    let mut events: Vec<Event> = Vec::new();
    loop {
        // Feed events to the engine and take what it wants done, holding a strong
        // reference only for this synchronous step.
        let (actions, transmits, deadline) = {
            let Some(inner) = weak.upgrade() else { break };
            let (actions, transmits, deadline, lingering) = {
                let mut engine = inner.engine();
                let now = Instant::now();
                for event in events.drain(..) {
                    match event {
                        Event::Opened(id, ws) => {
                            engine.session.on_open(id, now);
                            if engine.session.socket() == Some(id) {
                                socket = Some(Socket {
                                    id,
                                    ws: *ws,
                                    _live: LiveGuard::new(Live::Socket),
                                });
                            }
                        }
                        Event::Text(id, text) => engine.on_text(id, &text, now),
                        Event::Binary(id) => engine.on_binary(id, now),
                        Event::Closed(id, code, reason) => engine.on_close(id, code, &reason, now),
                        Event::Failed(id) => engine.session.on_error(id, now),
                        Event::Timeout => engine.handle_timeout(now),
                        Event::Wake => {}
                    }
                }
                let actions = engine.take_io_actions();
                let mut transmits = Vec::new();
                while let Some(frame) = engine.session.poll_transmit() {
                    transmits.push(frame);
                }
                let deadline = engine.poll_timeout();
                (actions, transmits, deadline, engine.registry.is_lingering())
            };
            // A lingering channel keeps the client alive until its linger ends.
            inner.io.set_keepalive(lingering.then(|| inner.clone()));
            (actions, transmits, deadline)
        };

        for action in actions {
            match action {
                Action::Connect(id) => {
                    if let Some(old) = socket.take() {
                        close_in_background(old.ws);
                    }
                    let url = url.clone();
                    connecting = Some((
                        id,
                        Box::pin(async move {
                            tokio_tungstenite::connect_async(url)
                                .await
                                .map(|(ws, _)| ws)
                        }),
                    ));
                }
                Action::Close {
                    socket: id,
                    code,
                    reason,
                } => {
                    if let Some(open) = socket.as_mut().filter(|s| s.id == id) {
                        let frame = CloseFrame {
                            code: WsCloseCode::from(code.as_u16()),
                            reason: reason.into(),
                        };
                        if open.ws.send(WsMessage::Close(Some(frame))).await.is_err() {
                            events.push(Event::Failed(id));
                        }
                    } else if connecting.as_ref().is_some_and(|(c, _)| *c == id) {
                        connecting = None;
                        events.push(Event::Failed(id));
                    }
                }
                Action::Release(id) => {
                    if socket.as_ref().is_some_and(|s| s.id == id) {
                        if let Some(old) = socket.take() {
                            close_in_background(old.ws);
                        }
                    }
                    if connecting.as_ref().is_some_and(|(c, _)| *c == id) {
                        connecting = None;
                    }
                }
                _ => {}
            }
        }

        if !transmits.is_empty() {
            if let Some(open) = socket.as_mut() {
                let mut failed = false;
                for (id, text) in transmits {
                    if id == open.id && open.ws.feed(WsMessage::Text(text.into())).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || open.ws.flush().await.is_err() {
                    events.push(Event::Failed(open.id));
                }
            }
        }
        if !events.is_empty() {
            continue;
        }

        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        let connect = async {
            match connecting.as_mut() {
                Some((id, fut)) => (*id, fut.await),
                None => std::future::pending().await,
            }
        };
        let read = async {
            match socket.as_mut() {
                Some(open) => (open.id, open.ws.next().await),
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            _ = notify.notified() => Event::Wake,
            _ = sleep => Event::Timeout,
            (id, result) = connect => match result {
                Ok(ws) => Event::Opened(id, Box::new(ws)),
                Err(_) => Event::Failed(id),
            },
            (id, message) = read => match message {
                Some(Ok(WsMessage::Text(text))) => Event::Text(id, text.to_string()),
                Some(Ok(WsMessage::Binary(_))) => Event::Binary(id),
                Some(Ok(WsMessage::Close(frame))) => match frame {
                    Some(frame) => Event::Closed(id, u16::from(frame.code), frame.reason.to_string()),
                    None => Event::Closed(id, 1005, String::new()),
                },
                Some(Ok(_)) => Event::Wake, // ping/pong: tungstenite answers pings itself
                Some(Err(_)) => Event::Failed(id),
                None => Event::Closed(id, 1006, String::new()),
            },
        };
        if let Event::Opened(..) = event {
            connecting = None;
        }
        if let Event::Failed(id) = event {
            if connecting.as_ref().is_some_and(|(c, _)| *c == id) {
                connecting = None;
            }
        }
        events.push(event);
    }
    if let Some(open) = socket.take() {
        close_normally(open.ws).await;
    }
}

/// Close with 1000 and wait (bounded) for the handshake.
async fn close_normally(mut ws: Ws) {
    let frame = CloseFrame {
        code: WsCloseCode::Normal,
        reason: "released".into(),
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, ws.close(Some(frame))).await;
}

fn close_in_background(ws: Ws) {
    tokio::spawn(close_normally(ws));
}
