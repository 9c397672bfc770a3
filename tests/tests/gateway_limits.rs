//! Gateway limits, TTLs, shedding, metrics and the HTTP publish API, with real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use moorline_core::protocol::{ErrorCode, ServerFrame, UnsubscribeReason};
use moorline_core::{Client, ClientOptions};
use moorline_gateway::Config;
use moorline_tests::{
    close_code, eventually, gateway, http, next_frame, next_item, prometheus_value, raw, send_text,
    subscribe, test_config,
};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn ttl_expiry_frees_the_subscription_and_tells_the_client() {
    let gw = gateway(Config {
        subscription_ttl_secs: 1,
        ping_interval_ms: 100,
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    send_text(
        &mut ws,
        r#"{"type":"subscribe","id":1,"channel":"ttl:raw"}"#,
    )
    .await;
    match next_frame(&mut ws).await {
        ServerFrame::Subscribed { ttl_secs, .. } => assert_eq!(ttl_secs, 1),
        other => panic!("{other:?}"),
    }
    let started = Instant::now();
    // Keep the connection alive (pongs) but never refresh the subscription.
    let frame = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("socket open")
            .expect("no socket error");
        let Message::Text(text) = msg else { continue };
        match ServerFrame::parse(&text).unwrap() {
            ServerFrame::Ping => send_text(&mut ws, r#"{"type":"pong"}"#).await,
            other => break other,
        }
    };
    assert_eq!(
        frame,
        ServerFrame::Unsubscribed {
            channel: "ttl:raw".into(),
            reason: UnsubscribeReason::Expired
        }
    );
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(gw.stats().subscriptions, 0);
    assert!(gw.hub().channel_stats("ttl:raw").is_none());
    assert_eq!(gw.stats().drops.get("expired_subscription"), Some(&1));
    gw.shutdown().await;
}

#[tokio::test]
async fn moorline_core_refreshes_its_subscriptions_before_the_ttl() {
    let gw = gateway(Config {
        subscription_ttl_secs: 1,
        ping_interval_ms: 100,
        ..test_config()
    })
    .await;
    let client = Client::connect(&gw.ws_url(), ClientOptions::default()).unwrap();
    let mut sub = client.subscribe::<u32>("ttl:core").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || gw
            .hub()
            .channel_stats("ttl:core")
            .is_some())
        .await
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let channel = gw
        .hub()
        .channel_stats("ttl:core")
        .expect("still subscribed after 3.5 TTLs");
    assert!(channel.subscribes_total >= 4, "refreshed: {channel:?}");
    assert_eq!(gw.stats().drops.get("expired_subscription"), None);
    gw.hub()
        .publish("ttl:core", serde_json::json!(1).into())
        .unwrap();
    let msg = next_item(&mut sub).await.unwrap();
    assert_eq!(msg.data, 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn connection_limit_refuses_with_the_retryable_overload_code() {
    let gw = gateway(Config {
        max_connections: 2,
        ..test_config()
    })
    .await;
    let _a = raw(&gw).await;
    let _b = raw(&gw).await;
    assert!(eventually(Duration::from_secs(2), || gw.stats().connections == 2).await);
    let mut c = raw(&gw).await;
    let code = close_code(&mut c, Duration::from_secs(5)).await;
    assert_eq!(code, Some(4002));
    assert!(moorline_core::CloseCode::from(4002).is_retryable());
    assert_eq!(gw.stats().refused.get("max_connections"), Some(&1));
    gw.shutdown().await;
}

#[tokio::test]
async fn inbound_rate_limit_errors_then_closes_a_flood() {
    let gw = gateway(Config {
        max_frames_per_sec: 10,
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    // The burst (20) passes; the next frames get rate_limited errors.
    for i in 0..25 {
        send_text(
            &mut ws,
            &format!(r#"{{"type":"publish","id":{i},"channel":"rate:c","data":{i}}}"#),
        )
        .await;
    }
    let mut published = 0;
    let mut limited = 0;
    for _ in 0..25 {
        match next_frame(&mut ws).await {
            ServerFrame::Published { .. } => published += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(published, 20);
    assert_eq!(limited, 5);
    // A subscribe flood keeps going: closed with the policy code.
    for i in 0..200 {
        let frame = format!(r#"{{"type":"subscribe","id":{i},"channel":"flood:{i}"}}"#);
        if futures_util::SinkExt::send(&mut ws, Message::Text(frame.into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(4502)
    );
    let limited_total = gw.stats().drops.get("rate_limited").copied().unwrap_or(0);
    // Closed after more than `burst` (20) refusals in a row.
    assert!(limited_total >= 21, "{:?}", gw.stats());
    assert!(eventually(Duration::from_secs(2), || gw.stats().subscriptions == 0).await);
    gw.shutdown().await;
}

#[tokio::test]
async fn metrics_endpoint_serves_prometheus_text() {
    let gw = gateway(test_config()).await;
    let mut ws = raw(&gw).await;
    subscribe(&mut ws, 1, "metrics:c").await;
    gw.hub()
        .publish("metrics:c", serde_json::json!(1).into())
        .unwrap();
    let (status, text) = http(&gw, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(
        prometheus_value(&text, "moorline_connections"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(prometheus_value(&text, "moorline_subscriptions"), Some(1.0));
    assert_eq!(prometheus_value(&text, "moorline_channels"), Some(1.0));
    assert_eq!(
        prometheus_value(&text, "moorline_publish_fanout_count"),
        Some(1.0)
    );
    assert_eq!(
        prometheus_value(&text, "moorline_published_total"),
        Some(1.0)
    );
    assert!(prometheus_value(&text, "moorline_rss_bytes").unwrap() > 0.0);
    assert!(text.contains("moorline_memory_budget_bytes"));
    assert!(text.contains("moorline_draining 0"));
    assert!(text.contains("moorline_shedding_level 0"));
    gw.shutdown().await;
}

#[tokio::test]
async fn http_publish_needs_the_api_key_when_one_is_set() {
    let gw = gateway(Config {
        api_key: Some("s3cret".into()),
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    subscribe(&mut ws, 1, "http:c").await;
    let body = r#"{"channel":"http:c","data":{"price":1.5}}"#;
    let (status, _) = http(&gw, "POST", "/publish", &[], body).await;
    assert_eq!(status, 401);
    let (status, _) = http(
        &gw,
        "POST",
        "/publish",
        &[("Authorization", "Bearer nope")],
        body,
    )
    .await;
    assert_eq!(status, 401);
    let auth = [
        ("Authorization", "Bearer s3cret"),
        ("Content-Type", "application/json"),
    ];
    let (status, reply) = http(&gw, "POST", "/publish", &auth, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&reply).unwrap()["offset"],
        1
    );
    match next_frame(&mut ws).await {
        ServerFrame::Message { data, .. } => {
            assert_eq!(data.as_value(), &serde_json::json!({"price": 1.5}))
        }
        other => panic!("{other:?}"),
    }
    let (status, reply) = http(
        &gw,
        "POST",
        "/publish",
        &auth,
        r#"{"channel":"bad name","data":1}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(reply.contains("invalid_channel"), "{reply}");
    let (status, _) = http(&gw, "POST", "/publish", &auth, "{nope").await;
    assert_eq!(status, 400);
    gw.shutdown().await;
}
