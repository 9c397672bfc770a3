//! Native clients against a real gateway on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use moorline_core::{Client, ClientOptions, ConnectionState, RegistryConfig, SubscriptionError};
use moorline_tests::{eventually, gateway, next_item, test_config};
use std::time::Duration;

fn options() -> ClientOptions {
    ClientOptions {
        registry: RegistryConfig {
            linger: Duration::from_millis(50),
            ..RegistryConfig::default()
        },
        ..ClientOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_clients_receive_every_message_in_order() {
    const CLIENTS: usize = 100;
    const MESSAGES: u64 = 200;
    let gw = gateway(test_config()).await;
    let url = gw.ws_url();
    let mut subs = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = Client::connect(&url, options()).unwrap();
        subs.push(client.subscribe::<u64>("e2e:ticks").unwrap());
        clients.push(client);
    }
    assert!(
        eventually(Duration::from_secs(10), || gw
            .hub()
            .channel_stats("e2e:ticks")
            .is_some_and(|c| c.subscribers == CLIENTS))
        .await,
        "all {CLIENTS} subscribed"
    );
    let publisher = Client::connect(&url, options()).unwrap();
    for n in 1..=MESSAGES {
        publisher.publish("e2e:ticks", &n).unwrap();
        if n % 50 == 0 {
            // Stay well inside the default outbox of 256.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut total = 0u64;
    for sub in &mut subs {
        let mut last_offset = 0;
        for n in 1..=MESSAGES {
            let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .expect("message within 10 s")
                .expect("stream open")
                .expect("decodes");
            assert_eq!(msg.data, n, "in publish order");
            assert!(msg.offset > last_offset, "offsets increase");
            last_offset = msg.offset;
            total += 1;
        }
    }
    assert_eq!(total, CLIENTS as u64 * MESSAGES);
    println!("{CLIENTS} clients x {MESSAGES} messages = {total} delivered in order");
    drop(subs);
    drop(clients);
    drop(publisher);
    assert!(
        eventually(Duration::from_secs(10), || {
            let s = gw.stats();
            s.connections == 0 && s.subscriptions == 0 && s.channels == 0
        })
        .await,
        "gateway empty after clients dropped: {:?}",
        gw.stats()
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes_after_the_linger() {
    let gw = gateway(test_config()).await;
    let client = Client::connect(&gw.ws_url(), options()).unwrap();
    let sub = client.subscribe::<u32>("e2e:linger").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || gw
            .hub()
            .channel_stats("e2e:linger")
            .is_some())
        .await
    );
    drop(sub);
    // Still subscribed inside the linger...
    assert!(gw.hub().channel_stats("e2e:linger").is_some());
    // ...and gone after it.
    assert!(
        eventually(Duration::from_secs(5), || gw
            .hub()
            .channel_stats("e2e:linger")
            .is_none())
        .await
    );
    assert_eq!(client.metrics().channels, 0);
    gw.shutdown().await;
}

#[tokio::test]
async fn remount_inside_the_linger_reuses_socket_and_subscription() {
    let gw = gateway(test_config()).await;
    let client = Client::connect(
        &gw.ws_url(),
        ClientOptions {
            registry: RegistryConfig {
                linger: Duration::from_secs(5),
                ..RegistryConfig::default()
            },
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let first = client.subscribe::<u32>("e2e:remount").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || gw
            .hub()
            .channel_stats("e2e:remount")
            .is_some())
        .await
    );
    drop(first);
    let mut second = client.subscribe::<u32>("e2e:remount").unwrap();
    gw.hub()
        .publish("e2e:remount", serde_json::json!(7).into())
        .unwrap();
    let msg = next_item(&mut second).await.unwrap();
    assert_eq!(msg.data, 7);
    let channel = gw.hub().channel_stats("e2e:remount").unwrap();
    assert_eq!(channel.subscribes_total, 1, "one subscribe frame");
    assert_eq!(gw.stats().connections_total, 1, "one socket");
    assert_eq!(client.metrics().connects, 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn undecodable_message_is_an_error_on_that_subscription_only() {
    let gw = gateway(test_config()).await;
    let client = Client::connect(&gw.ws_url(), options()).unwrap();
    let mut numbers = client.subscribe::<u32>("e2e:mixed").unwrap();
    let mut anything = client.subscribe::<serde_json::Value>("e2e:mixed").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || gw
            .hub()
            .channel_stats("e2e:mixed")
            .is_some())
        .await
    );
    client.publish("e2e:mixed", "not a number").unwrap();
    client.publish("e2e:mixed", &5u32).unwrap();
    let first = next_item(&mut numbers).await;
    assert!(
        matches!(first, Err(SubscriptionError::Decode { offset: 1, .. })),
        "{first:?}"
    );
    let second = next_item(&mut numbers).await;
    assert_eq!(second.unwrap().data, 5, "the stream goes on");
    let raw = next_item(&mut anything).await;
    assert_eq!(raw.unwrap().data, serde_json::json!("not a number"));
    gw.shutdown().await;
}

#[tokio::test]
async fn close_sends_1000_and_never_reconnects() {
    let gw = gateway(test_config()).await;
    let client = Client::connect(&gw.ws_url(), options()).unwrap();
    assert!(
        eventually(Duration::from_secs(5), || client.state()
            == ConnectionState::Open)
        .await
    );
    client.close();
    client.close();
    assert!(
        eventually(Duration::from_secs(5), || client.state()
            == ConnectionState::Closed)
        .await
    );
    assert!(
        eventually(Duration::from_secs(5), || gw.stats().closes(1000) == 1).await,
        "{:?}",
        gw.stats()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        gw.stats().connections_total,
        1,
        "no reconnect after close()"
    );
    assert_eq!(client.state(), ConnectionState::Closed);
    client.open();
    assert!(
        eventually(Duration::from_secs(5), || client.state()
            == ConnectionState::Open)
        .await
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn reconnects_and_resubscribes_after_the_gateway_drops_the_connection() {
    let gw = gateway(test_config()).await;
    let addr = gw.local_addr();
    let client = Client::connect(&gw.ws_url(), options()).unwrap();
    let mut sub = client.subscribe::<u32>("e2e:restart").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || gw
            .hub()
            .channel_stats("e2e:restart")
            .is_some())
        .await
    );
    gw.shutdown().await;
    assert!(
        eventually(Duration::from_secs(5), || client.state()
            != ConnectionState::Open)
        .await
    );
    // A new gateway on the same port.
    let gw = moorline_gateway::Gateway::bind(moorline_gateway::Config {
        addr,
        ..test_config()
    })
    .await
    .unwrap();
    assert!(
        eventually(Duration::from_secs(15), || gw
            .hub()
            .channel_stats("e2e:restart")
            .is_some())
        .await,
        "resubscribed"
    );
    gw.hub()
        .publish("e2e:restart", serde_json::json!(9).into())
        .unwrap();
    let msg = next_item(&mut sub).await.unwrap();
    assert_eq!(msg.data, 9);
    assert!(client.metrics().reconnects >= 1);
    assert_eq!(
        client.metrics().closes_by_code.get(&1001),
        Some(&1),
        "{:?}",
        client.metrics()
    );
    gw.shutdown().await;
}
