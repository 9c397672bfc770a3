//! Browser tests (headless Chromium) of the Leptos hooks against a real gateway,
//! started by `cargo xtask test`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use leptos::prelude::*;
use moorline_browser_kit::{
    channel_stat, client_options, disconnect_all, eventually, gateway_ws, log, memory_gate,
    publisher, reconnected_then_open, record_shown, record_state, reset_records, saw, seen, sleep,
    states, tick, unique, wait_subscribers, ConsoleCapture, Tick,
};
use moorline_core::{live, ConnectionState};
use moorline_leptos::{
    use_realtime_channel_with_options, use_realtime_keyed_with_options, Publish,
    UseRealtimeChannelOptions, UseRealtimeKeyedOptions,
};
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    static PUBLISH: RefCell<Option<Publish<Tick>>> = const { RefCell::new(None) };
    static KEYED_LEN: RefCell<(usize, u64)> = const { RefCell::new((0, 0)) };
}

fn hook_options(linger_ms: u64) -> UseRealtimeChannelOptions {
    UseRealtimeChannelOptions {
        url: Some(Signal::stored(gateway_ws().to_owned())),
        client: client_options(linger_ms),
    }
}

/// A component using the hook; it records what it shows.
#[component]
fn Probe(channel: Signal<String>, linger_ms: u64) -> impl IntoView {
    let hook = use_realtime_channel_with_options::<Tick>(channel, hook_options(linger_ms));
    let (message, state) = (hook.message, hook.state);
    PUBLISH.with(|p| *p.borrow_mut() = Some(hook.publish.clone()));
    Effect::new(move |_| {
        let shown = message.get();
        let current = channel.get();
        if let Some(tick) = shown {
            record_shown(&current, &tick);
        }
    });
    Effect::new(move |_| record_state(state.get()));
    view! { <p class="probe">{move || message.get().map(|t| t.n.to_string()).unwrap_or_default()}</p> }
}

fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.dyn_into().unwrap()
}

fn reset() {
    reset_records();
    PUBLISH.with(|p| *p.borrow_mut() = None);
}

#[wasm_bindgen_test]
async fn mount_receive_unmount_leaves_nothing() {
    reset();
    let channel = unique("lp:mount");
    let name = channel.clone();
    let handle = leptos::mount::mount_to(container(), move || {
        view! { <Probe channel=Signal::stored(name) linger_ms=100/> }
    });
    assert!(wait_subscribers(&channel, 1).await, "subscribed");
    let publisher = publisher();
    publisher.publish(&channel, &tick(&channel, 7)).unwrap();
    assert!(eventually(5000, || saw(7)).await, "received");
    drop(handle);
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
    let channel = unique("lp:remount");
    let sockets_before = live().sockets;
    let name = channel.clone();
    let first = leptos::mount::mount_to(container(), move || {
        view! { <Probe channel=Signal::stored(name) linger_ms=3000/> }
    });
    assert!(wait_subscribers(&channel, 1).await);
    drop(first);
    let name = channel.clone();
    let second = leptos::mount::mount_to(container(), move || {
        view! { <Probe channel=Signal::stored(name) linger_ms=3000/> }
    });
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
    drop(second);
}

#[wasm_bindgen_test]
async fn channel_switch_never_shows_an_old_channel_message() {
    reset();
    let a = unique("lp:a");
    let b = unique("lp:b");
    let channel = RwSignal::new(a.clone());
    let handle = leptos::mount::mount_to(container(), move || {
        view! { <Probe channel=channel.into() linger_ms=50/> }
    });
    assert!(wait_subscribers(&a, 1).await);
    let publisher = publisher();
    // Both channels publish all along while the component switches back and forth.
    let mut n = 0;
    for round in 0..6 {
        let next = if round % 2 == 0 { b.clone() } else { a.clone() };
        for _ in 0..10 {
            n += 1;
            publisher.publish(&a, &tick(&a, n)).unwrap();
            publisher.publish(&b, &tick(&b, n)).unwrap();
            sleep(5).await;
        }
        channel.set(next);
        sleep(100).await;
    }
    sleep(300).await;
    let seen = seen();
    let wrong: Vec<_> = seen
        .iter()
        .filter(|(shown, from, _)| shown != from)
        .collect();
    log(&format!(
        "channel switch: {} renders, {} from another channel",
        seen.len(),
        wrong.len()
    ));
    assert!(wrong.is_empty(), "old-channel messages shown: {wrong:?}");
    assert!(seen.iter().any(|(_, from, _)| *from == a));
    assert!(seen.iter().any(|(_, from, _)| *from == b));
    drop(handle);
}

#[wasm_bindgen_test]
async fn publish_racing_unmount_neither_panics_nor_warns() {
    reset();
    let capture = ConsoleCapture::start();
    let channel = unique("lp:race");
    let publisher = publisher();
    for round in 0..20 {
        let name = channel.clone();
        let handle = leptos::mount::mount_to(container(), move || {
            view! { <Probe channel=Signal::stored(name) linger_ms=50/> }
        });
        sleep(if round == 0 { 200 } else { 5 }).await;
        let publish = PUBLISH.with(|p| p.borrow().clone()).unwrap();
        // Messages in flight while the component goes away...
        for n in 0..5 {
            publisher.publish(&channel, &tick(&channel, n)).unwrap();
        }
        let _ = publish.call(&tick(&channel, 99));
        drop(handle);
        // ...and a publish through the unmounted hook's callable.
        assert_eq!(
            publish.call(&tick(&channel, 100)),
            Err(moorline_leptos::RealtimeError::Disposed)
        );
        for n in 5..10 {
            publisher.publish(&channel, &tick(&channel, n)).unwrap();
        }
    }
    sleep(500).await;
    let lines = capture.lines();
    assert!(lines.is_empty(), "console warnings/errors: {lines:?}");
}

#[wasm_bindgen_test]
async fn gateway_drop_goes_reconnecting_then_open_and_messages_flow_again() {
    reset();
    let channel = unique("lp:drop");
    let name = channel.clone();
    let handle = leptos::mount::mount_to(container(), move || {
        view! { <Probe channel=Signal::stored(name) linger_ms=50/> }
    });
    assert!(wait_subscribers(&channel, 1).await);
    reset_records();
    let closed = disconnect_all(1012).await;
    assert!(closed >= 1);
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
    drop(handle);
}

#[component]
fn KeyedProbe(channel: String) -> impl IntoView {
    let hook = use_realtime_keyed_with_options::<Tick, u32>(
        channel,
        |t| t.n,
        UseRealtimeKeyedOptions {
            url: Some(Signal::stored(gateway_ws().to_owned())),
            client: client_options(50),
            capacity: 100,
            ..UseRealtimeKeyedOptions::default()
        },
    );
    let map = hook.map;
    Effect::new(move |_| {
        map.with(|m| KEYED_LEN.with(|k| *k.borrow_mut() = (m.len(), m.evicted())));
    });
    view! { <p>{move || map.with(|m| m.len())}</p> }
}

#[wasm_bindgen_test]
async fn keyed_map_stays_within_its_bound_under_ten_thousand_ids() {
    let channel = unique("lp:keyed");
    let name = channel.clone();
    let handle = leptos::mount::mount_to(container(), move || view! { <KeyedProbe channel=name/> });
    assert!(wait_subscribers(&channel, 1).await);
    let publisher = publisher();
    assert!(eventually(5000, || publisher.state() == ConnectionState::Open).await);
    for n in 0..10_000u32 {
        publisher.publish(&channel, &tick(&channel, n)).unwrap();
        if n % 500 == 499 {
            sleep(10).await;
        }
    }
    assert!(eventually(20_000, || KEYED_LEN.with(|k| k.borrow().1 >= 9_000)).await);
    let (len, evicted) = KEYED_LEN.with(|k| *k.borrow());
    log(&format!(
        "keyed map: {len} keys held, {evicted} evicted, bound 100"
    ));
    assert_eq!(len, 100);
    drop(handle);
}

#[component]
fn Toggle(visible: RwSignal<bool>, channel: String) -> impl IntoView {
    view! {
        <Show when=move || visible.get()>
            <Probe channel=Signal::stored(channel.clone()) linger_ms=20/>
        </Show>
    }
}

/// 2,000 mount/unmount cycles through `<Show>`: every live counter returns to 0,
/// the JS heap after a forced GC stays within 1 MiB of the baseline taken after a
/// warm-up, and wasm linear memory grows by at most one 64 KiB page after the warm-up.
#[wasm_bindgen_test]
async fn two_thousand_mount_unmount_cycles_leak_nothing() {
    reset();
    let channel = unique("lp:cycles");
    let visible = RwSignal::new(false);
    let name = channel.clone();
    let handle = leptos::mount::mount_to(
        container(),
        move || view! { <Toggle visible channel=name/> },
    );
    memory_gate("leptos", 2000, 1024.0 * 1024.0, async |n| {
        for _ in 0..n {
            visible.set(true);
            sleep(0).await;
            visible.set(false);
            sleep(0).await;
        }
    })
    .await;
    assert!(wait_subscribers(&channel, 0).await);
    drop(handle);
}
