//! The callables a hook returns. Plain reference-counted functions rather than arena
//! values: calling one after the component unmounted is safe and does nothing.

use moorline_core::RealtimeError;
use std::fmt;
use std::sync::Arc;

type PublishFn<T> = dyn Fn(&T) -> Result<u64, RealtimeError> + Send + Sync;

/// Publishes a value on the hook's current channel; returns the request id.
pub struct Publish<T: 'static>(pub(crate) Arc<PublishFn<T>>);

impl<T: 'static> Publish<T> {
    /// Publish `value`. After unmount: `Err(RealtimeError::Disposed)`, nothing sent.
    pub fn call(&self, value: &T) -> Result<u64, RealtimeError> {
        (self.0)(value)
    }
}

impl<T: 'static> Clone for Publish<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: 'static> fmt::Debug for Publish<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Publish")
    }
}

/// A no-argument action (`close`, `reconnect`).
#[derive(Clone)]
pub struct Trigger(pub(crate) Arc<dyn Fn() + Send + Sync>);

impl Trigger {
    /// Run it. After unmount it does nothing.
    pub fn call(&self) {
        (self.0)()
    }
}

impl fmt::Debug for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Trigger")
    }
}
