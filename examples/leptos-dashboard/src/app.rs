//! The dashboard's components.

use gloo_timers::callback::Interval;
use leptos::prelude::*;
use moorline_core::{live, ClientMetrics, ClientOptions, LiveCounts};
use moorline_leptos::{
    provide_realtime, use_realtime_channel_with_options, use_realtime_keyed,
    use_realtime_keyed_with_options, UseRealtimeChannelOptions, UseRealtimeKeyedOptions,
};
use send_wrapper::SendWrapper;
use serde::{Deserialize, Serialize};

/// A price tick published by the gateway's demo publisher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    symbol: String,
    price: f64,
    seq: u64,
}

/// A chat line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    id: u64,
    author: String,
    text: String,
}

/// The gateway that served this page.
fn ws_url(query: &str) -> String {
    let location = web_sys::window()
        .map(|w| w.location())
        .and_then(|l| Some((l.protocol().ok()?, l.host().ok()?)));
    match location {
        Some((protocol, host)) => {
            let scheme = if protocol == "https:" { "wss" } else { "ws" };
            format!("{scheme}://{host}/ws{query}")
        }
        None => format!("ws://127.0.0.1:8080/ws{query}"),
    }
}

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    provide_realtime(&ws_url(""), ClientOptions::default());
    view! {
        <h1>"moorline · Leptos dashboard"</h1>
        <main>
            <Ticker/>
            <ConnectionPanel/>
            <ChatBox/>
            <Stress/>
        </main>
    }
}

#[component]
fn Ticker() -> impl IntoView {
    let ticks = use_realtime_keyed::<Tick, String>("ticks", |t| t.symbol.clone());
    let map = ticks.map;
    let rows = move || {
        map.with(|m| {
            let mut rows: Vec<Tick> = m.iter().map(|(_, t)| t.clone()).collect();
            rows.sort_by(|a, b| a.symbol.cmp(&b.symbol));
            rows
        })
    };
    view! {
        <section>
            <h2>"Ticker"</h2>
            <table id="ticker">
                <For each=rows key=|t| (t.symbol.clone(), t.seq) let:t>
                    <tr class="tick"><td>{t.symbol}</td><td>{format!("{:.2}", t.price)}</td></tr>
                </For>
            </table>
        </section>
    }
}

#[component]
fn ConnectionPanel() -> impl IntoView {
    // The ticker's own hook is on the shared client; a second hook on `ticks`
    // shares its subscription and gives this panel the client's metrics.
    let hook =
        use_realtime_channel_with_options::<Tick>("ticks", UseRealtimeChannelOptions::default());
    let (state, metrics) = (hook.state, hook.metrics);
    let reconnect = hook.reconnect.clone();
    let m = move |f: fn(&ClientMetrics) -> String| {
        move || metrics.with(|m| m.as_ref().map(f).unwrap_or_default())
    };
    view! {
        <section>
            <h2>"Connection"</h2>
            <dl>
                <dt>"state"</dt>
                <dd id="state" class=move || format!("state-{}", state.get().as_str())>{move || state.get().as_str()}</dd>
                <dt>"uptime"</dt><dd>{m(|m| m.uptime.map(|u| format!("{:.0} s", u.as_secs_f64())).unwrap_or_else(|| "-".into()))}</dd>
                <dt>"connects"</dt><dd>{m(|m| m.connects.to_string())}</dd>
                <dt>"reconnects"</dt><dd id="reconnects">{m(|m| m.reconnects.to_string())}</dd>
                <dt>"closes by code"</dt><dd>{m(|m| format!("{:?}", m.closes_by_code))}</dd>
                <dt>"queues (out / in)"</dt><dd>{m(|m| format!("{} / {}", m.outbox_depth, m.inbound_depth))}</dd>
                <dt>"dropped (out / in)"</dt><dd>{m(|m| format!("{} / {}", m.dropped_sends, m.dropped_messages))}</dd>
                <dt>"delivered"</dt><dd id="delivered">{m(|m| m.delivered.to_string())}</dd>
                <dt>"live sockets"</dt><dd id="live-sockets">{m(|m| m.live.sockets.to_string())}</dd>
                <dt>"live callbacks"</dt><dd id="live-callbacks">{m(|m| m.live.callbacks.to_string())}</dd>
                <dt>"live timers"</dt><dd id="live-timers">{m(|m| m.live.timers.to_string())}</dd>
                <dt>"live handles"</dt><dd id="live-handles">{m(|m| m.live.handles.to_string())}</dd>
            </dl>
            <p><button on:click=move |_| reconnect.call()>"reconnect"</button></p>
        </section>
    }
}

#[component]
fn ChatBox() -> impl IntoView {
    let chat = use_realtime_keyed_with_options::<Chat, u64>(
        "chat",
        |c| c.id,
        UseRealtimeKeyedOptions {
            capacity: 20,
            ..UseRealtimeKeyedOptions::default()
        },
    );
    let (map, publish) = (chat.map, chat.publish.clone());
    let draft = RwSignal::new(String::new());
    let lines = move || {
        map.with(|m| {
            let mut lines: Vec<Chat> = m.iter().map(|(_, c)| c.clone()).collect();
            lines.sort_by_key(|c| c.id);
            lines
        })
    };
    let send = move |_| {
        let text = draft.get_untracked();
        if text.is_empty() {
            return;
        }
        let id = (js_sys::Math::random() * 9e15) as u64;
        let _ = publish.call(&Chat {
            id,
            author: "you".into(),
            text,
        });
        draft.set(String::new());
    };
    view! {
        <section>
            <h2>"Chat"</h2>
            <ul class="chat" id="chat">
                <For each=lines key=|c| c.id let:c>
                    <li><b>{c.author}</b>": "{c.text}</li>
                </For>
            </ul>
            <input type="text" id="chat-input" placeholder="say something"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))/>
            " "
            <button id="chat-send" on:click=send>"send"</button>
        </section>
    }
}

/// Live resources minus the baseline taken when stress started, per kind (`None`
/// before the first start).
fn leaked(now: LiveCounts, baseline: Option<LiveCounts>) -> [(&'static str, Option<i64>); 4] {
    let diff = |f: fn(&LiveCounts) -> i64| baseline.map(|b| f(&now) - f(&b));
    [
        ("sockets", diff(|c| c.sockets)),
        ("callbacks", diff(|c| c.callbacks)),
        ("timers", diff(|c| c.timers)),
        ("handles", diff(|c| c.handles)),
    ]
}

/// How a leak count is shown.
fn leak_view(n: Option<i64>) -> (&'static str, String) {
    match n {
        None => ("", "–".to_owned()),
        Some(0) => ("zero", "0".to_owned()),
        Some(n) => ("nonzero", n.to_string()),
    }
}

#[component]
fn Stress() -> impl IntoView {
    let running = RwSignal::new(false);
    let shown = RwSignal::new(false);
    let toggles = RwSignal::new(0u32);
    let baseline = RwSignal::new(None::<LiveCounts>);
    let now = RwSignal::new(live());
    // One owned interval at a time; dropping it cancels it.
    let ticker: StoredValue<Option<SendWrapper<Interval>>> = StoredValue::new(None);
    let refresh = StoredValue::new(Some(SendWrapper::new(Interval::new(100, move || {
        now.try_set(live());
    }))));
    on_cleanup(move || {
        ticker.try_update_value(|t| t.take());
        refresh.try_update_value(|t| t.take());
    });
    let toggle = move |_| {
        let on = !running.get_untracked();
        running.set(on);
        if on {
            baseline.set(Some(live()));
            toggles.set(0);
            let interval = Interval::new(20, move || {
                shown.try_update(|s| *s = !*s);
                toggles.try_update(|t| *t += 1);
            });
            ticker.set_value(Some(SendWrapper::new(interval)));
        } else {
            ticker.set_value(None);
            shown.set(false);
        }
    };
    view! {
        <section>
            <h2>"Stress"</h2>
            <p>
                <button id="stress" on:click=toggle>{move || if running.get() { "stop stress" } else { "start stress" }}</button>
                " toggles: " <span id="toggles">{move || toggles.get()}</span>
            </p>
            <div class="widgets">
                <Show when=move || shown.get()>
                    <StressWidgets/>
                </Show>
            </div>
            <dl>
                {move || leaked(now.get(), baseline.get()).into_iter().map(|(name, n)| {
                    let (class, text) = leak_view(n);
                    view! {
                        <dt>{format!("leaked {name}")}</dt>
                        <dd id=format!("leak-{name}") class=class>{text}</dd>
                    }
                }).collect_view()}
            </dl>
        </section>
    }
}

/// Five widgets, each with its own hook on a separate connection (`?pool=stress`), so
/// mounting and unmounting them creates and frees subscriptions, callbacks and sockets.
#[component]
fn StressWidgets() -> impl IntoView {
    (0..5)
        .map(|i| {
            let hook = use_realtime_channel_with_options::<Tick>(
                "ticks",
                UseRealtimeChannelOptions {
                    url: Some(Signal::stored(ws_url("?pool=stress"))),
                    ..UseRealtimeChannelOptions::default()
                },
            );
            let message = hook.message;
            view! { <span class="widget">{move || message.get().map(|t| format!("{} {}", t.symbol, t.seq)).unwrap_or_else(|| format!("widget {i}"))}</span> }
        })
        .collect_view()
}
