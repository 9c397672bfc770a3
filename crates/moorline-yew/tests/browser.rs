//! Browser tests (headless Chromium) of the Yew hooks against a real gateway,
//! started by `cargo xtask test`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moorline_browser_kit::{
    channel_stat, client_options, disconnect_all, eventually, gateway_ws, log, memory_gate,
    publisher, reconnected_then_open, record_shown, record_state, reset_records, saw, seen, sleep,
    states, tick, unique, wait_subscribers, ConsoleCapture, Tick,
};
use moorline_core::{live, ConnectionState};
use moorline_yew::{
    use_realtime_channel_with_options, use_realtime_keyed_with_options, RealtimeError,
    UseRealtimeChannelHandle, UseRealtimeChannelOptions, UseRealtimeKeyedOptions,
};
use std::cell::RefCell;
use wasm_bindgen_test::*;
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    static HANDLE: RefCell<Option<UseRealtimeChannelHandle<Tick>>> = const { RefCell::new(None) };
    static KEYED: RefCell<(usize, u64)> = const { RefCell::new((0, 0)) };
}

#[derive(Properties, PartialEq)]
struct ProbeProps {
    channel: AttrValue,
    linger_ms: u64,
    #[prop_or(true)]
    keep_handle: bool,
}

/// A component using the hook; it records what it renders.
#[function_component]
fn Probe(props: &ProbeProps) -> Html {
    let hook = use_realtime_channel_with_options::<Tick>(
        &props.channel,
        UseRealtimeChannelOptions {
            url: Some(AttrValue::from(gateway_ws())),
            client: client_options(props.linger_ms),
        },
    );
    if props.keep_handle {
        HANDLE.with(|h| *h.borrow_mut() = Some(hook.clone()));
    }
    if let Some(tick) = hook.message() {
        record_shown(&props.channel, &tick);
    }
    record_state(hook.state());
    html! { <p>{ hook.message().map(|t| t.n.to_string()).unwrap_or_default() }</p> }
}

#[derive(Properties, PartialEq)]
struct ToggleProps {
    visible: bool,
    channel: AttrValue,
}

#[function_component]
fn Toggle(props: &ToggleProps) -> Html {
    if props.visible {
        html! { <Probe channel={props.channel.clone()} linger_ms={20} keep_handle={false}/> }
    } else {
        html! {}
    }
}

fn container() -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div
}

fn reset() {
    reset_records();
    HANDLE.with(|h| *h.borrow_mut() = None);
}

fn mount(channel: &str, linger_ms: u64) -> yew::AppHandle<Probe> {
    yew::Renderer::<Probe>::with_root_and_props(
        container(),
        ProbeProps {
            channel: AttrValue::from(channel.to_owned()),
            linger_ms,
            keep_handle: true,
        },
    )
    .render()
}

#[wasm_bindgen_test]
async fn mount_receive_unmount_leaves_nothing() {
    reset();
    let channel = unique("yw:mount");
    let app = mount(&channel, 100);
    assert!(wait_subscribers(&channel, 1).await, "subscribed");
    let publisher = publisher();
    publisher.publish(&channel, &tick(&channel, 7)).unwrap();
    assert!(eventually(5000, || saw(7)).await, "received");
    app.destroy();
    HANDLE.with(|h| *h.borrow_mut() = None);
    assert!(
        wait_subscribers(&channel, 0).await,
        "gateway forgot it after the linger"
    );
    drop(publisher);
    assert!(eventually(5000, || live().is_zero()).await, "{:?}", live());
    assert_eq!(live().callbacks, 0);
}

#[wasm_bindgen_test]
async fn remount_inside_the_linger_is_one_socket_and_one_subscribe() {
    reset();
    let channel = unique("yw:remount");
    let sockets_before = live().sockets;
    let first = mount(&channel, 3000);
    assert!(wait_subscribers(&channel, 1).await);
    first.destroy();
    let second = mount(&channel, 3000);
    sleep(200).await;
    assert_eq!(
        channel_stat(&channel, "subscribes_total").await,
        1,
        "one subscribe frame"
    );
    assert_eq!(live().sockets, sockets_before + 1, "one socket");
    let publisher = publisher();
    publisher.publish(&channel, &tick(&channel, 1)).unwrap();
    assert!(eventually(5000, || saw(1)).await);
    second.destroy();
    HANDLE.with(|h| *h.borrow_mut() = None);
}

#[wasm_bindgen_test]
async fn channel_switch_never_shows_an_old_channel_message() {
    reset();
    let a = unique("yw:a");
    let b = unique("yw:b");
    let mut app = mount(&a, 50);
    assert!(wait_subscribers(&a, 1).await);
    let publisher = publisher();
    let mut n = 0;
    for round in 0..6 {
        let next = if round % 2 == 0 { b.clone() } else { a.clone() };
        for _ in 0..10 {
            n += 1;
            publisher.publish(&a, &tick(&a, n)).unwrap();
            publisher.publish(&b, &tick(&b, n)).unwrap();
            sleep(5).await;
        }
        app.update(ProbeProps {
            channel: AttrValue::from(next),
            linger_ms: 50,
            keep_handle: true,
        });
        sleep(100).await;
    }
    sleep(300).await;
    let seen = seen();
    let wrong: Vec<_> = seen
        .iter()
        .filter(|(shown, from, _)| shown != from)
        .collect();
    log(&format!(
        "yew channel switch: {} renders with a message, {} from another channel",
        seen.len(),
        wrong.len()
    ));
    assert!(wrong.is_empty(), "old-channel messages shown: {wrong:?}");
    assert!(seen.iter().any(|(_, from, _)| *from == a));
    assert!(seen.iter().any(|(_, from, _)| *from == b));
    app.destroy();
    HANDLE.with(|h| *h.borrow_mut() = None);
}

#[wasm_bindgen_test]
async fn publish_racing_unmount_neither_panics_nor_logs_errors() {
    reset();
    let capture = ConsoleCapture::start();
    let channel = unique("yw:race");
    let publisher = publisher();
    for round in 0..20 {
        let app = mount(&channel, 50);
        sleep(if round == 0 { 200 } else { 5 }).await;
        let handle = HANDLE.with(|h| h.borrow().clone()).unwrap();
        for n in 0..5 {
            publisher.publish(&channel, &tick(&channel, n)).unwrap();
        }
        let _ = handle.publish(&tick(&channel, 99));
        // Yew schedules the destruction: a publish right after races the teardown.
        app.destroy();
        let _ = handle.publish(&tick(&channel, 100));
        sleep(0).await;
        // Holding the handle past unmount and calling it is safe.
        assert_eq!(
            handle.publish(&tick(&channel, 101)),
            Err(RealtimeError::Disposed)
        );
        handle.reconnect();
        let _ = handle.message();
        for n in 5..10 {
            publisher.publish(&channel, &tick(&channel, n)).unwrap();
        }
    }
    HANDLE.with(|h| *h.borrow_mut() = None);
    sleep(500).await;
    let lines = capture.lines();
    assert!(lines.is_empty(), "console warnings/errors: {lines:?}");
}

#[wasm_bindgen_test]
async fn gateway_drop_goes_reconnecting_then_open_and_messages_flow_again() {
    reset();
    let channel = unique("yw:drop");
    let app = mount(&channel, 50);
    assert!(wait_subscribers(&channel, 1).await);
    reset_records();
    assert!(disconnect_all(1012).await >= 1);
    assert!(
        eventually(10_000, reconnected_then_open).await,
        "states: {:?}",
        states()
    );
    assert!(wait_subscribers(&channel, 1).await, "subscription restored");
    let publisher = publisher();
    assert!(eventually(5000, || publisher.state() == ConnectionState::Open).await);
    publisher.publish(&channel, &tick(&channel, 42)).unwrap();
    assert!(eventually(5000, || saw(42)).await, "messages flow again");
    app.destroy();
    HANDLE.with(|h| *h.borrow_mut() = None);
}

#[derive(Properties, PartialEq)]
struct KeyedProps {
    channel: AttrValue,
}

#[function_component]
fn KeyedProbe(props: &KeyedProps) -> Html {
    let hook = use_realtime_keyed_with_options::<Tick, u32>(
        &props.channel,
        |t| t.n,
        UseRealtimeKeyedOptions {
            url: Some(AttrValue::from(gateway_ws())),
            client: client_options(50),
            capacity: 100,
            ..UseRealtimeKeyedOptions::default()
        },
    );
    let (len, evicted) = hook.with_map(|m| (m.len(), m.evicted()));
    KEYED.with(|k| *k.borrow_mut() = (len, evicted));
    html! { <p>{ len }</p> }
}

#[wasm_bindgen_test]
async fn keyed_map_stays_within_its_bound_under_ten_thousand_ids() {
    let channel = unique("yw:keyed");
    let app = yew::Renderer::<KeyedProbe>::with_root_and_props(
        container(),
        KeyedProps {
            channel: AttrValue::from(channel.clone()),
        },
    )
    .render();
    assert!(wait_subscribers(&channel, 1).await);
    let publisher = publisher();
    assert!(eventually(5000, || publisher.state() == ConnectionState::Open).await);
    for n in 0..10_000u32 {
        publisher.publish(&channel, &tick(&channel, n)).unwrap();
        if n % 500 == 499 {
            sleep(10).await;
        }
    }
    assert!(eventually(20_000, || KEYED.with(|k| k.borrow().1 >= 9_000)).await);
    let (len, evicted) = KEYED.with(|k| *k.borrow());
    log(&format!(
        "yew keyed map: {len} keys held, {evicted} evicted, bound 100"
    ));
    assert_eq!(len, 100);
    app.destroy();
}

/// 2,000 mount/unmount cycles: every live counter returns to 0, the JS heap after a
/// forced GC stays within 1 MiB of the baseline taken after a warm-up, and wasm linear
/// memory grows by at most one 64 KiB page after the warm-up.
#[wasm_bindgen_test]
async fn two_thousand_mount_unmount_cycles_leak_nothing() {
    reset();
    let channel = AttrValue::from(unique("yw:cycles"));
    let mut app = yew::Renderer::<Toggle>::with_root_and_props(
        container(),
        ToggleProps {
            visible: false,
            channel: channel.clone(),
        },
    )
    .render();
    memory_gate("yew", 2000, 1024.0 * 1024.0, async |n| {
        for _ in 0..n {
            for visible in [true, false] {
                app.update(ToggleProps {
                    visible,
                    channel: channel.clone(),
                });
                sleep(0).await;
            }
        }
    })
    .await;
    assert!(wait_subscribers(&channel, 0).await);
    app.destroy();
}
