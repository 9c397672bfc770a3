//! The machinery both hooks share: in an effect keyed on (URL, channel), connect,
//! subscribe and run one message task and one event task; the effect's destructor
//! aborts them (releasing the subscription) before anything else can run. Tasks
//! check a liveness flag before touching state, so nothing updates an unmounted
//! component.

use moorline_core::{ClientOptions, ConnectionState, Message, RealtimeError};
use std::cell::RefCell;
use std::rc::Rc;

/// What a hook's methods reach. Only ever borrowed inside a method, never across a
/// call into user code or an await.
#[derive(Default)]
pub(crate) struct Current {
    pub(crate) client: Option<moorline_core::Client>,
    pub(crate) channel: String,
    /// Set by the teardown: the component is gone (or moved to another channel).
    pub(crate) disposed: bool,
}

pub(crate) type Shared = Rc<RefCell<Current>>;

/// Receives a message with the name of the channel it came from.
pub(crate) type MessageSink<T> = dyn Fn(&str, Message<T>);

/// How the driver reports to a hook's state.
pub(crate) struct Sinks<T> {
    pub(crate) message: Rc<MessageSink<T>>,
    pub(crate) state: Rc<dyn Fn(ConnectionState)>,
    pub(crate) error: Rc<dyn Fn(RealtimeError)>,
}

impl<T> Clone for Sinks<T> {
    fn clone(&self) -> Self {
        Self {
            message: self.message.clone(),
            state: self.state.clone(),
            error: self.error.clone(),
        }
    }
}

/// Start a subscription for `channel` on `url`; returns its teardown.
#[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
pub(crate) fn start<T>(
    url: &str,
    options: &ClientOptions,
    channel: &str,
    shared: &Shared,
    sinks: Sinks<T>,
) -> impl FnOnce()
where
    T: serde::de::DeserializeOwned + 'static,
{
    use futures_util::future::{abortable, AbortHandle};
    use futures_util::StreamExt;
    use moorline_core::{Client, ClientEvent};
    use std::cell::Cell;

    let alive = Rc::new(Cell::new(true));
    let mut handles: Vec<AbortHandle> = Vec::new();
    let started = Client::shared(url, options.clone())
        .map_err(RealtimeError::from)
        .and_then(|client| {
            let subscription = client.subscribe::<T>(channel)?;
            Ok((client, subscription))
        });
    {
        let mut current = shared.borrow_mut();
        current.channel = channel.to_owned();
        current.disposed = false;
        current.client = started.as_ref().ok().map(|(c, _)| c.clone());
    }
    match started {
        Err(err) => (sinks.error)(err),
        Ok((client, subscription)) => {
            (sinks.state)(client.state());
            let (messages, handle) = {
                let (alive, sinks, name) = (alive.clone(), sinks.clone(), channel.to_owned());
                abortable(async move {
                    let mut subscription = subscription;
                    while let Some(item) = subscription.next().await {
                        if !alive.get() {
                            break;
                        }
                        match item {
                            Ok(message) => (sinks.message)(&name, message),
                            Err(err) => (sinks.error)(err.into()),
                        }
                    }
                })
            };
            handles.push(handle);
            let (events, handle) = {
                let (alive, sinks) = (alive.clone(), sinks.clone());
                let mut events = client.events();
                abortable(async move {
                    while let Some(event) = events.next().await {
                        if !alive.get() {
                            break;
                        }
                        match event {
                            ClientEvent::State(state) => (sinks.state)(state),
                            ClientEvent::Error(err) => (sinks.error)(err.into()),
                            _ => {}
                        }
                    }
                })
            };
            handles.push(handle);
            wasm_bindgen_futures::spawn_local(async move {
                let _ = messages.await;
            });
            wasm_bindgen_futures::spawn_local(async move {
                let _ = events.await;
            });
        }
    }
    let shared = shared.clone();
    move || {
        alive.set(false);
        for handle in handles {
            handle.abort();
        }
        let mut current = shared.borrow_mut();
        current.client = None;
        current.disposed = true;
    }
}

/// Server side (and native targets): nothing starts; the teardown does nothing.
#[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
pub(crate) fn start<T>(
    _url: &str,
    _options: &ClientOptions,
    _channel: &str,
    _shared: &Shared,
    _sinks: Sinks<T>,
) -> impl FnOnce() {
    || {}
}

/// Publish through the hook's current client.
pub(crate) fn publish<T: serde::Serialize>(
    shared: &Shared,
    value: &T,
) -> Result<u64, RealtimeError> {
    let (client, channel, disposed) = {
        let current = shared.borrow();
        (
            current.client.clone(),
            current.channel.clone(),
            current.disposed,
        )
    };
    match client {
        Some(client) => Ok(client.publish(&channel, value)?),
        None if !cfg!(all(target_arch = "wasm32", not(feature = "ssr"))) => {
            Err(RealtimeError::ServerSide)
        }
        None if disposed => Err(RealtimeError::Disposed),
        None => Err(RealtimeError::NoClient),
    }
}

/// The hook's current client, if it has one.
pub(crate) fn client(shared: &Shared) -> Option<moorline_core::Client> {
    shared.borrow().client.clone()
}
