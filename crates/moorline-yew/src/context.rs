//! `<RealtimeProvider>`: the URL and options every hook below it connects with.

use moorline_core::ClientOptions;
use yew::prelude::*;

/// What [`RealtimeProvider`] puts in context. Hooks connect with it from their
/// effects (never during render, so server-side rendering creates no client);
/// `Client::shared` gives every hook of one URL the same socket.
#[derive(Debug, Clone, PartialEq)]
pub struct RealtimeContext {
    /// The gateway URL.
    pub url: AttrValue,
    /// Client options, applied when the shared client for `url` is created.
    pub options: ClientOptions,
}

/// Properties of [`RealtimeProvider`].
#[derive(Debug, Properties, PartialEq)]
pub struct RealtimeProviderProps {
    /// The gateway URL (`ws://` or `wss://`).
    pub url: AttrValue,
    /// Client options. Default [`ClientOptions::default`].
    #[prop_or_default]
    pub options: ClientOptions,
    /// The components that share the connection.
    #[prop_or_default]
    pub children: Html,
}

/// Gives every `use_realtime_*` hook below it one shared connection to `url`.
#[function_component]
pub fn RealtimeProvider(props: &RealtimeProviderProps) -> Html {
    let context = RealtimeContext {
        url: props.url.clone(),
        options: props.options.clone(),
    };
    html! {
        <ContextProvider<RealtimeContext> {context}>
            { props.children.clone() }
        </ContextProvider<RealtimeContext>>
    }
}
