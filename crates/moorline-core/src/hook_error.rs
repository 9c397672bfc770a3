//! The error type of the UI adapters (moorline-leptos, moorline-yew): what their hooks
//! surface as "last error" and return from `publish`. One type, so both adapters
//! speak the same language.

use crate::{ClientError, ClientErrorEvent, SubscriptionError};

/// Something that went wrong in a realtime hook. Cloneable, so it can live in a signal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RealtimeError {
    /// No provider above the component (`provide_realtime` / `<RealtimeProvider>`) and
    /// no URL in the options.
    #[error("no realtime client: add a provider above this component or set a url")]
    NoClient,
    /// A client call failed (invalid channel or URL, full outbox, closed client).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The subscription yielded an error (a message that did not decode, a refusal).
    #[error(transparent)]
    Subscription(#[from] SubscriptionError),
    /// The connection reported an error (terminal close, server error frame, ...).
    #[error(transparent)]
    Connection(#[from] ClientErrorEvent),
    /// The component that owned the hook is gone; the call did nothing.
    #[error("the component using this hook was unmounted")]
    Disposed,
    /// Rendering on the server: hooks are inert.
    #[error("realtime hooks are inert during server-side rendering")]
    ServerSide,
}
