//! What every hook handle carries besides its data — connection state, last error,
//! the hook's client — and the effect that runs a subscription for a hook.

use crate::context::RealtimeContext;
use crate::driver::{self, MessageSink, Shared, Sinks};
use moorline_core::{ClientMetrics, ClientOptions, ConnectionState, RealtimeError};
use std::rc::Rc;
use yew::prelude::*;

/// The URL (and client options) a hook connects with.
pub(crate) type Target = Option<(AttrValue, ClientOptions)>;

/// State, error and client of one hook. Its methods borrow internals only for their
/// own duration.
pub(crate) struct Controls {
    state: UseStateHandle<ConnectionState>,
    error: UseStateHandle<Option<RealtimeError>>,
    shared: Shared,
}

impl Clone for Controls {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            error: self.error.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl Controls {
    pub(crate) fn state(&self) -> ConnectionState {
        *self.state
    }

    pub(crate) fn error(&self) -> Option<RealtimeError> {
        (*self.error).clone()
    }

    pub(crate) fn metrics(&self) -> Option<ClientMetrics> {
        driver::client(&self.shared).map(|c| c.metrics())
    }

    pub(crate) fn publish<T: serde::Serialize>(&self, value: &T) -> Result<u64, RealtimeError> {
        driver::publish(&self.shared, value)
    }

    pub(crate) fn close(&self) {
        if let Some(client) = driver::client(&self.shared) {
            client.close();
        }
    }

    pub(crate) fn reconnect(&self) {
        if let Some(client) = driver::client(&self.shared) {
            client.reconnect();
        }
    }

    /// Start the subscription of an effect run; returns its teardown.
    pub(crate) fn start<T>(
        &self,
        target: &Target,
        channel: &str,
        message: Rc<MessageSink<T>>,
    ) -> Box<dyn FnOnce()>
    where
        T: serde::de::DeserializeOwned + 'static,
    {
        let (state, error) = (self.state.clone(), self.error.clone());
        let Some((url, options)) = target else {
            error.set(Some(RealtimeError::NoClient));
            return Box::new(|| {});
        };
        let sinks = Sinks {
            message,
            state: Rc::new(move |s| state.set(s)),
            error: Rc::new(move |e| error.set(Some(e))),
        };
        Box::new(driver::start(url, options, channel, &self.shared, sinks))
    }
}

/// The controls of a hook and the URL it connects to: its own option, else the
/// provider's.
#[hook]
pub(crate) fn use_controls(url: Option<AttrValue>, client: ClientOptions) -> (Controls, Target) {
    let state = use_state_eq(|| ConnectionState::Idle);
    let error = use_state_eq(|| None::<RealtimeError>);
    let shared = use_mut_ref(Default::default);
    let context = use_context::<RealtimeContext>();
    let target = match (url, context) {
        (Some(url), _) => Some((url, client)),
        (None, Some(context)) => Some((context.url, context.options)),
        (None, None) => None,
    };
    (
        Controls {
            state,
            error,
            shared,
        },
        target,
    )
}
