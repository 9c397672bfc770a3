//! Browser tests (headless Chromium) of the wasm client against a real gateway.
//!
//! Run through `cargo xtask test`, which starts the gateway and passes its URL in
//! `MOORLINE_GATEWAY_WS` at build time. By hand:
//! `MOORLINE_GATEWAY_WS=ws://127.0.0.1:PORT/ws CHROMEDRIVER=/usr/bin/chromedriver
//! cargo test -p moorline-core --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use gloo_timers::future::TimeoutFuture;
use moorline_browser_kit::{
    channel_stat, eventually, force_gc, gateway_ws, js_heap, log, stats, unique, wait_subscribers,
    wasm_memory,
};
use moorline_core::{live, Client, ClientOptions, ConnectionState, LiveCounts, RegistryConfig};
use std::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn options(linger_ms: u64) -> ClientOptions {
    ClientOptions {
        registry: RegistryConfig {
            linger: Duration::from_millis(linger_ms),
            ..RegistryConfig::default()
        },
        ..ClientOptions::default()
    }
}

async fn open_client(linger_ms: u64) -> Client {
    let client = Client::connect(gateway_ws(), options(linger_ms)).unwrap();
    assert!(eventually(5000, || client.state() == ConnectionState::Open).await);
    client
}

async fn next<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    sub: &mut moorline_core::Subscription<T>,
) -> moorline_core::Message<T> {
    let item =
        futures_util::future::select(Box::pin(sub.next()), Box::pin(TimeoutFuture::new(5000)))
            .await;
    match item {
        futures_util::future::Either::Left((Some(Ok(msg)), _)) => msg,
        futures_util::future::Either::Left((other, _)) => panic!("unexpected {other:?}"),
        futures_util::future::Either::Right(_) => panic!("no message within 5 s"),
    }
}

async fn wait_live_zero() -> LiveCounts {
    eventually(5000, || live().is_zero()).await;
    live()
}

#[wasm_bindgen_test]
async fn connect_subscribe_receive_in_order() {
    let client = open_client(50).await;
    let channel = unique("br:order");
    let mut sub = client.subscribe::<u32>(&channel).unwrap();
    assert!(
        eventually(5000, || client.metrics().connects == 1).await,
        "connected"
    );
    // Wait for the subscription to be live at the gateway before publishing.
    assert!(wait_subscribers(&channel, 1).await);
    for n in 1..=50u32 {
        client.publish(&channel, &n).unwrap();
    }
    let mut last = 0;
    for n in 1..=50u32 {
        let msg = next(&mut sub).await;
        assert_eq!(msg.data, n);
        assert!(msg.offset > last);
        last = msg.offset;
    }
    drop(sub);
    drop(client);
    assert_eq!(wait_live_zero().await, LiveCounts::default());
}

#[wasm_bindgen_test]
async fn dropped_subscription_gets_nothing_and_the_gateway_forgets_it_after_the_linger() {
    let client = open_client(200).await;
    let channel = unique("br:drop");
    let a = client.subscribe::<u32>(&channel).unwrap();
    let mut b = client.subscribe::<u32>(&channel).unwrap();
    assert!(wait_subscribers(&channel, 1).await);
    drop(a);
    assert_eq!(client.metrics().subscriptions, 1);
    let delivered = client.metrics().delivered;
    client.publish(&channel, &1u32).unwrap();
    assert_eq!(next(&mut b).await.data, 1);
    assert_eq!(
        client.metrics().delivered - delivered,
        1,
        "routed to the live handle only"
    );
    drop(b);
    // Inside the linger the gateway still holds it; after, it holds 0.
    assert_eq!(channel_stat(&channel, "subscribers").await, 1);
    let mut gone = false;
    for _ in 0..100 {
        if channel_stat(&channel, "subscribers").await == 0 {
            gone = true;
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert!(
        gone,
        "gateway subscription count for the channel is 0 after the linger"
    );
    assert_eq!(client.metrics().channels, 0);
}

#[wasm_bindgen_test]
async fn remount_inside_the_linger_is_one_socket_and_one_subscribe() {
    let client = open_client(2000).await;
    let sockets_before = live().sockets;
    let channel = unique("br:remount");
    let first = client.subscribe::<u32>(&channel).unwrap();
    assert!(wait_subscribers(&channel, 1).await);
    drop(first);
    let mut second = client.subscribe::<u32>(&channel).unwrap();
    TimeoutFuture::new(100).await;
    client.publish(&channel, &5u32).unwrap();
    assert_eq!(next(&mut second).await.data, 5);
    assert_eq!(
        channel_stat(&channel, "subscribes_total").await,
        1,
        "one subscribe frame"
    );
    assert_eq!(client.metrics().connects, 1, "one socket");
    assert_eq!(live().sockets, sockets_before);
}

#[wasm_bindgen_test]
async fn close_sends_1000_and_leaves_no_callback() {
    let before = stats("none").await["closes_by_code"]["1000"]
        .as_u64()
        .unwrap_or(0);
    let client = open_client(50).await;
    assert!(live().callbacks > 0);
    client.close();
    client.close();
    assert!(eventually(5000, || client.state() == ConnectionState::Closed).await);
    assert_eq!(live().callbacks, 0, "{:?}", live());
    assert_eq!(live().sockets, 0);
    assert_eq!(live().timers, 0);
    let mut seen = 0;
    for _ in 0..100 {
        seen = stats("none").await["closes_by_code"]["1000"]
            .as_u64()
            .unwrap_or(0);
        if seen > before {
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert_eq!(seen, before + 1, "the gateway saw one close with 1000");
    // No reconnect ever after close().
    TimeoutFuture::new(500).await;
    assert_eq!(client.state(), ConnectionState::Closed);
    assert_eq!(live().sockets, 0);
}

async fn cycles(n: usize, channel: &str) {
    for _ in 0..n {
        let client = Client::connect(gateway_ws(), options(20)).unwrap();
        let sub = client.subscribe::<u32>(channel).unwrap();
        assert!(eventually(5000, || client.state() == ConnectionState::Open).await);
        drop(sub);
        drop(client);
    }
    let live = wait_live_zero().await;
    assert!(live.is_zero(), "live counters after {n} cycles: {live:?}");
}

/// The memory gate: the JS heap after 1,000 connect/subscribe/drop cycles, after a
/// forced GC, stays within 512 KiB of the baseline taken after a warm-up; every live
/// counter is back to 0. (A leaked socket, closure or listener per cycle costs far
/// more than 512 bytes each.)
#[wasm_bindgen_test]
async fn thousand_connect_subscribe_drop_cycles_leak_nothing() {
    const CYCLES: usize = 1000;
    const HEAP_BOUND: f64 = 512.0 * 1024.0;
    let channel = unique("br:cycles");
    cycles(50, &channel).await;
    force_gc().await;
    let heap_before = js_heap();
    let wasm_before = wasm_memory();
    cycles(CYCLES, &channel).await;
    force_gc().await;
    let heap_after = js_heap();
    let wasm_after = wasm_memory();
    let delta = heap_after - heap_before;
    log(
        &format!(
            "memory gate: {CYCLES} cycles; JS heap {heap_before:.0} -> {heap_after:.0} bytes (delta {delta:+.0}, bound {HEAP_BOUND:.0}); wasm memory {wasm_before:.0} -> {wasm_after:.0} bytes; live {:?}",
            live()
        ),
    );
    assert!(delta < HEAP_BOUND, "JS heap grew by {delta} bytes");
    assert!(live().is_zero());
    let mut empty = false;
    for _ in 0..100 {
        if channel_stat(&channel, "subscribers").await == 0 {
            empty = true;
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert!(
        empty,
        "the gateway holds no subscription of the cycled channel"
    );
}
