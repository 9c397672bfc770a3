//! The dashboard's components.

use gloo_timers::callback::Interval;
use moorline_core::{live, ClientMetrics, LiveCounts};
use moorline_yew::{
    use_realtime_channel_with_options, use_realtime_keyed, use_realtime_keyed_with_options,
    RealtimeProvider, UseRealtimeChannelOptions, UseRealtimeKeyedOptions,
};
use serde::{Deserialize, Serialize};
use web_sys::HtmlInputElement;
use yew::prelude::*;

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
#[function_component]
pub fn App() -> Html {
    html! {
        <RealtimeProvider url={ws_url("")}>
            <h1>{ "moorline · Yew dashboard" }</h1>
            <main>
                <Ticker/>
                <ConnectionPanel/>
                <ChatBox/>
                <Stress/>
            </main>
        </RealtimeProvider>
    }
}

#[function_component]
fn Ticker() -> Html {
    let ticks = use_realtime_keyed::<Tick, String>("ticks", |t| t.symbol.clone());
    let mut rows: Vec<Tick> = ticks.with_map(|m| m.iter().map(|(_, t)| t.clone()).collect());
    rows.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    html! {
        <section>
            <h2>{ "Ticker" }</h2>
            <table id="ticker">
                { for rows.into_iter().map(|t| html! {
                    <tr class="tick" key={t.symbol.clone()}>
                        <td>{ t.symbol }</td><td>{ format!("{:.2}", t.price) }</td>
                    </tr>
                }) }
            </table>
        </section>
    }
}

#[function_component]
fn ConnectionPanel() -> Html {
    let hook =
        use_realtime_channel_with_options::<Tick>("ticks", UseRealtimeChannelOptions::default());
    // Metrics are read on render; the ticks this hook receives re-render it often.
    let metrics: Option<ClientMetrics> = hook.metrics();
    let m = |f: fn(&ClientMetrics) -> String| metrics.as_ref().map(f).unwrap_or_default();
    let state = hook.state().as_str();
    let onclick = {
        let hook = hook.clone();
        Callback::from(move |_| hook.reconnect())
    };
    html! {
        <section>
            <h2>{ "Connection" }</h2>
            <dl>
                <dt>{ "state" }</dt><dd id="state" class={format!("state-{state}")}>{ state }</dd>
                <dt>{ "uptime" }</dt><dd>{ m(|m| m.uptime.map(|u| format!("{:.0} s", u.as_secs_f64())).unwrap_or_else(|| "-".into())) }</dd>
                <dt>{ "connects" }</dt><dd>{ m(|m| m.connects.to_string()) }</dd>
                <dt>{ "reconnects" }</dt><dd id="reconnects">{ m(|m| m.reconnects.to_string()) }</dd>
                <dt>{ "closes by code" }</dt><dd>{ m(|m| format!("{:?}", m.closes_by_code)) }</dd>
                <dt>{ "queues (out / in)" }</dt><dd>{ m(|m| format!("{} / {}", m.outbox_depth, m.inbound_depth)) }</dd>
                <dt>{ "dropped (out / in)" }</dt><dd>{ m(|m| format!("{} / {}", m.dropped_sends, m.dropped_messages)) }</dd>
                <dt>{ "delivered" }</dt><dd id="delivered">{ m(|m| m.delivered.to_string()) }</dd>
                <dt>{ "live sockets" }</dt><dd id="live-sockets">{ m(|m| m.live.sockets.to_string()) }</dd>
                <dt>{ "live callbacks" }</dt><dd id="live-callbacks">{ m(|m| m.live.callbacks.to_string()) }</dd>
                <dt>{ "live timers" }</dt><dd id="live-timers">{ m(|m| m.live.timers.to_string()) }</dd>
                <dt>{ "live handles" }</dt><dd id="live-handles">{ m(|m| m.live.handles.to_string()) }</dd>
            </dl>
            <p><button {onclick}>{ "reconnect" }</button></p>
        </section>
    }
}

#[function_component]
fn ChatBox() -> Html {
    let chat = use_realtime_keyed_with_options::<Chat, u64>(
        "chat",
        |c| c.id,
        UseRealtimeKeyedOptions {
            capacity: 20,
            ..UseRealtimeKeyedOptions::default()
        },
    );
    let input = use_node_ref();
    let mut lines: Vec<Chat> = chat.with_map(|m| m.iter().map(|(_, c)| c.clone()).collect());
    lines.sort_by_key(|c| c.id);
    let onclick = {
        let (chat, input) = (chat.clone(), input.clone());
        Callback::from(move |_| {
            let Some(field) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let text = field.value();
            if text.is_empty() {
                return;
            }
            let id = (js_sys::Math::random() * 9e15) as u64;
            let _ = chat.publish(&Chat {
                id,
                author: "you".into(),
                text,
            });
            field.set_value("");
        })
    };
    html! {
        <section>
            <h2>{ "Chat" }</h2>
            <ul class="chat" id="chat">
                { for lines.into_iter().map(|c| html! { <li key={c.id}><b>{ c.author }</b>{ ": " }{ c.text }</li> }) }
            </ul>
            <input type="text" id="chat-input" placeholder="say something" ref={input}/>
            { " " }
            <button id="chat-send" {onclick}>{ "send" }</button>
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

#[function_component]
fn Stress() -> Html {
    let running = use_state_eq(|| false);
    let shown = use_state_eq(|| false);
    let toggles = use_mut_ref(|| 0u32);
    let baseline = use_state_eq(|| None::<LiveCounts>);
    let now = use_state_eq(live);
    let redraw = use_force_update();
    {
        // Refresh the counters every 100 ms; the interval is dropped (cancelled) on unmount.
        let now = now.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(100, move || now.set(live()));
            move || drop(interval)
        });
    }
    {
        let (shown, toggles, redraw) = (shown.clone(), toggles.clone(), redraw.clone());
        use_effect_with(*running, move |running| {
            let interval = running.then(|| {
                let shown = shown.clone();
                Interval::new(20, move || {
                    shown.set(!*shown);
                    *toggles.borrow_mut() += 1;
                    redraw.force_update();
                })
            });
            move || {
                drop(interval);
                shown.set(false);
            }
        });
    }
    let onclick = {
        let (running, baseline, toggles) = (running.clone(), baseline.clone(), toggles.clone());
        Callback::from(move |_| {
            if !*running {
                baseline.set(Some(live()));
                *toggles.borrow_mut() = 0;
            }
            running.set(!*running);
        })
    };
    let count = *toggles.borrow();
    html! {
        <section>
            <h2>{ "Stress" }</h2>
            <p>
                <button id="stress" {onclick}>{ if *running { "stop stress" } else { "start stress" } }</button>
                { " toggles: " }<span id="toggles">{ count }</span>
            </p>
            <div class="widgets">
                if *shown { <StressWidgets/> }
            </div>
            <dl>
                { for leaked(*now, *baseline).into_iter().map(|(name, n)| {
                    let (class, text) = leak_view(n);
                    html! {
                        <>
                            <dt>{ format!("leaked {name}") }</dt>
                            <dd id={format!("leak-{name}")} {class}>{ text }</dd>
                        </>
                    }
                }) }
            </dl>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct WidgetProps {
    index: usize,
}

/// One widget with its own hook on a separate connection (`?pool=stress`).
#[function_component]
fn Widget(props: &WidgetProps) -> Html {
    let hook = use_realtime_channel_with_options::<Tick>(
        "ticks",
        UseRealtimeChannelOptions {
            url: Some(AttrValue::from(ws_url("?pool=stress"))),
            ..UseRealtimeChannelOptions::default()
        },
    );
    let text = hook
        .message()
        .map(|t| format!("{} {}", t.symbol, t.seq))
        .unwrap_or_else(|| format!("widget {}", props.index));
    html! { <span class="widget">{ text }</span> }
}

/// Five widgets, so mounting and unmounting them creates and frees subscriptions,
/// callbacks and sockets.
#[function_component]
fn StressWidgets() -> Html {
    html! { <>{ for (0..5).map(|index| html! { <Widget key={index} {index}/> }) }</> }
}
