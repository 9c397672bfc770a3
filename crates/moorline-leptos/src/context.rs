//! `provide_realtime`: one shared client in context for every hook below it.

use moorline_core::RealtimeError;
use moorline_core::{Client, ClientOptions};
use send_wrapper::SendWrapper;

/// The shared client put in context by [`provide_realtime`].
#[derive(Clone, Debug)]
pub struct RealtimeContext {
    client: Result<SendWrapper<Client>, RealtimeError>,
}

impl RealtimeContext {
    /// The client, or why there is none (an invalid URL; SSR).
    pub fn client(&self) -> Result<Client, RealtimeError> {
        match &self.client {
            Ok(client) => Ok((**client).clone()),
            Err(err) => Err(err.clone()),
        }
    }
}

/// Put the client for `url` in context: every `use_realtime_*` hook below uses it,
/// so all components share one socket per URL. Under the `ssr` feature (and on
/// native targets) nothing connects. Returns the context for direct use.
pub fn provide_realtime(url: &str, options: ClientOptions) -> RealtimeContext {
    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    let client = Client::shared(url, options)
        .map(SendWrapper::new)
        .map_err(RealtimeError::from);
    #[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
    let client = {
        let _ = (url, options);
        Err(RealtimeError::ServerSide)
    };
    let context = RealtimeContext { client };
    leptos::prelude::provide_context(context.clone());
    context
}
