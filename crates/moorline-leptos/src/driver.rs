//! The machinery both hooks share: resolve the client, follow the channel and URL
//! signals, run one subscription task and one event task per (client, channel),
//! abort them on switch and on cleanup, and feed the signals with `try_set` so a
//! late item can never touch a disposed signal.

use crate::callables::{Publish, Trigger};
use leptos::prelude::*;
use moorline_core::RealtimeError;
use moorline_core::{ClientMetrics, ClientOptions, ConnectionState, Message};
use std::sync::{Arc, Mutex};

/// The signals every hook exposes besides its data.
#[derive(Clone, Copy)]
pub(crate) struct StatusSignals {
    pub(crate) state: RwSignal<ConnectionState>,
    pub(crate) error: RwSignal<Option<RealtimeError>>,
    pub(crate) metrics: RwSignal<Option<ClientMetrics>>,
}

impl StatusSignals {
    pub(crate) fn new() -> Self {
        Self {
            state: RwSignal::new(ConnectionState::Idle),
            error: RwSignal::new(None),
            metrics: RwSignal::new(None),
        }
    }
}

/// What the callables reach: the hook's current client and channel, and whether the
/// hook is gone.
#[derive(Default)]
struct Current {
    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    client: Option<send_wrapper::SendWrapper<moorline_core::Client>>,
    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    channel: String,
    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    tasks: Vec<futures_util::future::AbortHandle>,
    disposed: bool,
}

impl Current {
    fn stop(&mut self) {
        #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

type Shared = Arc<Mutex<Current>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Current> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The callables of a hook.
pub(crate) struct Callables<T: 'static> {
    pub(crate) publish: Publish<T>,
    pub(crate) close: Trigger,
    pub(crate) reconnect: Trigger,
}

/// Start following `channel` (and `url`) and deliver messages, with the name of the
/// channel they came from, to `on_message`.
pub(crate) fn drive<T>(
    channel: Signal<String>,
    url: Option<Signal<String>>,
    client_options: ClientOptions,
    status: StatusSignals,
    on_message: impl Fn(&str, Message<T>) + 'static,
) -> Callables<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let shared: Shared = Arc::new(Mutex::new(Current::default()));
    active::start(
        channel,
        url,
        client_options,
        status,
        on_message,
        shared.clone(),
    );
    {
        let shared = shared.clone();
        on_cleanup(move || {
            let mut current = lock(&shared);
            current.disposed = true;
            current.stop();
            // Dropping the client handle here is fine: the tasks own their
            // subscriptions, which release themselves when the aborted tasks end.
            #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
            {
                current.client = None;
            }
        });
    }
    callables(shared)
}

#[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
fn callables<T: serde::Serialize + 'static>(shared: Shared) -> Callables<T> {
    let publish = {
        let shared = shared.clone();
        Publish(Arc::new(move |value: &T| {
            let current = lock(&shared);
            if current.disposed {
                return Err(RealtimeError::Disposed);
            }
            let client = current.client.as_ref().ok_or(RealtimeError::NoClient)?;
            Ok(client.publish(&current.channel, value)?)
        }))
    };
    let with_client = |f: fn(&moorline_core::Client)| {
        let shared = shared.clone();
        Trigger(Arc::new(move || {
            let client = {
                let current = lock(&shared);
                if current.disposed {
                    return;
                }
                current.client.as_ref().map(|c| (**c).clone())
            };
            if let Some(client) = client {
                f(&client);
            }
        }))
    };
    Callables {
        publish,
        close: with_client(moorline_core::Client::close),
        reconnect: with_client(moorline_core::Client::reconnect),
    }
}

#[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
fn callables<T: 'static>(shared: Shared) -> Callables<T> {
    let _ = shared;
    Callables {
        publish: Publish(Arc::new(|_: &T| Err(RealtimeError::ServerSide))),
        close: Trigger(Arc::new(|| {})),
        reconnect: Trigger(Arc::new(|| {})),
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
mod active {
    use super::*;
    use crate::context::RealtimeContext;
    use futures_util::future::abortable;
    use futures_util::StreamExt;
    use moorline_core::{Client, ClientEvent};
    use send_wrapper::SendWrapper;
    use std::rc::Rc;

    fn resolve(
        url: Option<&str>,
        options: &ClientOptions,
        context: Option<&RealtimeContext>,
    ) -> Result<Client, RealtimeError> {
        match (url, context) {
            (Some(url), _) => Ok(Client::shared(url, options.clone())?),
            (None, Some(context)) => context.client(),
            (None, None) => Err(RealtimeError::NoClient),
        }
    }

    pub(super) fn start<T>(
        channel: Signal<String>,
        url: Option<Signal<String>>,
        client_options: ClientOptions,
        status: StatusSignals,
        on_message: impl Fn(&str, Message<T>) + 'static,
        shared: Shared,
    ) where
        T: serde::de::DeserializeOwned + 'static,
    {
        let context = use_context::<RealtimeContext>();
        let on_message = Rc::new(on_message);
        Effect::new(move |_| {
            let name = channel.get();
            let url = url.map(|u| u.get());
            let mut current = lock(&shared);
            if current.disposed {
                return;
            }
            // Switch: the old tasks stop before anything of the new channel starts.
            current.stop();
            current.channel = name.clone();
            let client = match resolve(url.as_deref(), &client_options, context.as_ref()) {
                Ok(client) => client,
                Err(err) => {
                    current.client = None;
                    status.error.try_set(Some(err));
                    return;
                }
            };
            current.client = Some(SendWrapper::new(client.clone()));
            status.state.try_set(client.state());
            status.metrics.try_set(Some(client.metrics()));
            let subscription = match client.subscribe::<T>(&name) {
                Ok(subscription) => subscription,
                Err(err) => {
                    status.error.try_set(Some(err.into()));
                    return;
                }
            };
            let (messages, handle) = {
                let on_message = on_message.clone();
                let client = client.clone();
                let name = name.clone();
                abortable(async move {
                    let mut subscription = subscription;
                    while let Some(item) = subscription.next().await {
                        match item {
                            Ok(message) => on_message(&name, message),
                            Err(err) => {
                                status.error.try_set(Some(err.into()));
                            }
                        }
                        status.metrics.try_set(Some(client.metrics()));
                    }
                })
            };
            current.tasks.push(handle);
            let (events, handle) = {
                let mut events = client.events();
                abortable(async move {
                    while let Some(event) = events.next().await {
                        match event {
                            ClientEvent::State(state) => {
                                status.state.try_set(state);
                            }
                            ClientEvent::Error(err) => {
                                status.error.try_set(Some(err.into()));
                            }
                            _ => {}
                        }
                        status.metrics.try_set(Some(client.metrics()));
                    }
                })
            };
            current.tasks.push(handle);
            drop(current);
            wasm_bindgen_futures::spawn_local(async move {
                let _ = messages.await;
            });
            wasm_bindgen_futures::spawn_local(async move {
                let _ = events.await;
            });
        });
    }
}

#[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
mod active {
    use super::*;

    /// Inert: no effect, no client; the signals keep their initial values.
    pub(super) fn start<T>(
        _channel: Signal<String>,
        _url: Option<Signal<String>>,
        _client_options: ClientOptions,
        _status: StatusSignals,
        _on_message: impl Fn(&str, Message<T>) + 'static,
        _shared: Shared,
    ) {
    }
}
