//! Gateway lifecycle with real sockets: heartbeat deadline, slow consumers, limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use moorline_core::protocol::{ErrorCode, ServerFrame};
use moorline_gateway::Config;
use moorline_tests::{
    close_code, eventually, gateway, next_frame, raw, send_text, subscribe, test_config,
};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn silent_client_is_closed_with_the_heartbeat_code_and_its_subscriptions_go() {
    let gw = gateway(Config {
        ping_interval_ms: 100,
        heartbeat_timeout_ms: 400,
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    subscribe(&mut ws, 1, "hb:c").await;
    assert_eq!(gw.stats().subscriptions, 1);
    // From now on the client reads (so TCP stays healthy) but never sends a frame.
    let started = Instant::now();
    let code = close_code(&mut ws, Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert_eq!(code, Some(4001), "heartbeat-timeout close code");
    assert!(
        took < Duration::from_millis(1500),
        "closed within the deadline: {took:?}"
    );
    assert!(
        eventually(Duration::from_secs(2), || gw.stats().subscriptions == 0
            && gw.stats().connections == 0)
        .await
    );
    assert_eq!(gw.stats().closes(4001), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn answering_pings_keeps_the_connection() {
    let gw = gateway(Config {
        ping_interval_ms: 100,
        heartbeat_timeout_ms: 400,
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    let until = tokio::time::Instant::now() + Duration::from_millis(1200);
    let mut pings = 0;
    while tokio::time::Instant::now() < until {
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(200), ws.next()).await
        {
            if ServerFrame::parse(&text).unwrap() == ServerFrame::Ping {
                pings += 1;
                send_text(&mut ws, r#"{"type":"pong"}"#).await;
            }
        }
    }
    assert!(pings >= 5, "{pings} pings");
    assert_eq!(
        gw.stats().connections,
        1,
        "still connected after 3 deadlines"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn slow_consumer_is_closed_and_others_get_every_message() {
    let gw = gateway(Config {
        max_outbound_bytes: 64 * 1024,
        ..test_config()
    })
    .await;
    let mut slow = raw(&gw).await;
    let mut fast = raw(&gw).await;
    for ws in [&mut slow, &mut fast] {
        subscribe(ws, 1, "slow:c").await;
    }
    // `slow` stops reading. Publish far more than its queue and socket buffers hold,
    // reading `fast` as we go.
    let payload = "x".repeat(16 * 1024);
    let mut received = 0u64;
    let mut max_outbound = 0i64;
    for n in 1..=400u64 {
        gw.hub()
            .publish("slow:c", serde_json::json!({"n": n, "pad": payload}).into())
            .unwrap();
        max_outbound = max_outbound.max(gw.stats().outbound_bytes);
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(Duration::from_millis(1), fast.next()).await
        {
            if let ServerFrame::Message { offset, .. } = ServerFrame::parse(&text).unwrap() {
                received += 1;
                assert_eq!(
                    offset, received,
                    "fast consumer gets every message in order"
                );
            }
        }
    }
    while received < 400 {
        match next_frame(&mut fast).await {
            ServerFrame::Message { offset, .. } => {
                received += 1;
                assert_eq!(offset, received);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        eventually(Duration::from_secs(5), || gw.stats().closes(4000) == 1).await,
        "{:?}",
        gw.stats()
    );
    assert!(eventually(Duration::from_secs(5), || gw.stats().subscriptions == 1).await);
    assert_eq!(gw.hub().channel_stats("slow:c").unwrap().subscribers, 1);
    // Two connections, each bounded by 64 KiB of queued frames.
    println!("slow consumer: most outbound bytes queued at once {max_outbound}");
    assert!(max_outbound <= 2 * 64 * 1024, "{max_outbound}");
    assert_eq!(gw.stats().drops.get("slow_consumer"), Some(&1));
    gw.shutdown().await;
}

#[tokio::test]
async fn channel_limit_is_an_error_frame() {
    let gw = gateway(Config {
        max_channels_per_connection: 3,
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    for i in 0..3 {
        send_text(
            &mut ws,
            &format!(r#"{{"type":"subscribe","id":{i},"channel":"lim:{i}"}}"#),
        )
        .await;
        assert!(matches!(
            next_frame(&mut ws).await,
            ServerFrame::Subscribed { .. }
        ));
    }
    send_text(&mut ws, r#"{"type":"subscribe","id":9,"channel":"lim:9"}"#).await;
    match next_frame(&mut ws).await {
        ServerFrame::Error { id, code, .. } => {
            assert_eq!(id, Some(9));
            assert_eq!(code, ErrorCode::TooManyChannels);
        }
        other => panic!("{other:?}"),
    }
    // Re-subscribing a held channel (a TTL refresh) is not a new channel.
    send_text(&mut ws, r#"{"type":"subscribe","id":10,"channel":"lim:0"}"#).await;
    assert!(matches!(
        next_frame(&mut ws).await,
        ServerFrame::Subscribed { id: 10, .. }
    ));
    assert_eq!(gw.stats().subscriptions, 3);
    gw.shutdown().await;
}

#[tokio::test]
async fn oversized_and_binary_frames_get_error_frames() {
    let gw = gateway(Config {
        max_frame_bytes: 1024,
        ..test_config()
    })
    .await;
    let mut ws = raw(&gw).await;
    let big = format!(
        r#"{{"type":"publish","id":4,"channel":"big","data":"{}"}}"#,
        "x".repeat(2000)
    );
    send_text(&mut ws, &big).await;
    match next_frame(&mut ws).await {
        ServerFrame::Error { id, code, .. } => {
            assert_eq!(code, ErrorCode::FrameTooLarge);
            assert_eq!(id, Some(4));
        }
        other => panic!("{other:?}"),
    }
    futures_util::SinkExt::send(&mut ws, Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    match next_frame(&mut ws).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::BinaryNotSupported),
        other => panic!("{other:?}"),
    }
    // Far over the limit: the socket layer closes with 1009.
    let huge = "y".repeat(16 * 1024);
    let _ = futures_util::SinkExt::send(&mut ws, Message::Text(huge.into())).await;
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(1009)
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn unsupported_protocol_version_is_closed_with_4501() {
    let gw = gateway(test_config()).await;
    let url = format!("ws://{}/ws?v=99", gw.local_addr());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(4501)
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn resume_replays_what_was_missed() {
    let gw = gateway(test_config()).await;
    let mut keeper = raw(&gw).await;
    send_text(
        &mut keeper,
        r#"{"type":"subscribe","id":1,"channel":"resume:c"}"#,
    )
    .await;
    let ServerFrame::Subscribed { position, .. } = next_frame(&mut keeper).await else {
        panic!()
    };
    for n in 1..=5 {
        gw.hub()
            .publish("resume:c", serde_json::json!(n).into())
            .unwrap();
    }
    let mut late = raw(&gw).await;
    let frame = serde_json::json!({"type": "subscribe", "id": 2, "channel": "resume:c",
        "resume": {"offset": 2, "epoch": position.epoch}});
    send_text(&mut late, &frame.to_string()).await;
    assert!(matches!(
        next_frame(&mut late).await,
        ServerFrame::Subscribed { .. }
    ));
    for want in 3..=5 {
        match next_frame(&mut late).await {
            ServerFrame::Message { offset, .. } => assert_eq!(offset, want),
            other => panic!("{other:?}"),
        }
    }
    gw.shutdown().await;
}
