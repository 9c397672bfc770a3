//! Load shedding under a test-lowered memory budget. Alone in its binary: RSS is
//! process-wide, and other tests running beside it would move it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moorline_core::protocol::ServerFrame;
use moorline_gateway::shedding::{HARD, NORMAL, SOFT};
use moorline_gateway::Config;
use moorline_tests::{
    close_code, eventually, gateway, http, next_frame, raw, subscribe, test_config,
};
use std::time::Duration;

#[tokio::test]
async fn shedding_drops_non_critical_refuses_new_sockets_and_recovers() {
    let gw = gateway(Config {
        memory_sample_ms: 20,
        critical_channel_prefixes: vec!["crit:".into()],
        ..test_config()
    })
    .await;
    let mut crit = raw(&gw).await;
    let mut bulk = raw(&gw).await;
    subscribe(&mut crit, 1, "crit:alerts").await;
    subscribe(&mut bulk, 1, "bulk:ticks").await;
    assert!(eventually(Duration::from_secs(2), || gw.stats().rss_bytes > 0).await);
    let rss = gw.stats().rss_bytes as u64;

    // Soft pressure: RSS at ~87% of the budget.
    gw.shedder().set_budget(rss * 100 / 87);
    assert!(eventually(Duration::from_secs(2), || gw.shedder().level() == SOFT).await);
    assert!(
        gw.hub()
            .publish("bulk:ticks", serde_json::json!(1).into())
            .is_err(),
        "non-critical shed"
    );
    assert_eq!(
        gw.hub().publish("crit:alerts", serde_json::json!(1).into()),
        Ok(1),
        "critical delivered"
    );
    assert!(matches!(
        next_frame(&mut crit).await,
        ServerFrame::Message { offset: 1, .. }
    ));
    let refused = tokio_tungstenite::connect_async(gw.ws_url()).await;
    assert!(refused.is_err(), "new sockets refused under pressure");
    let (status, _) = http(&gw, "GET", "/healthz", &[], "").await;
    assert_eq!(status, 200);

    // Pressure ends: recovery by itself.
    gw.shedder().set_budget(rss * 10);
    assert!(eventually(Duration::from_secs(2), || gw.shedder().level() == NORMAL).await);
    assert_eq!(
        gw.hub().publish("bulk:ticks", serde_json::json!(2).into()),
        Ok(1)
    );
    assert!(matches!(
        next_frame(&mut bulk).await,
        ServerFrame::Message { offset: 1, .. }
    ));
    let _accepted = raw(&gw).await;

    // Hard pressure: the newest connections are closed with 4002.
    gw.shedder().set_budget(rss / 2);
    assert!(eventually(Duration::from_secs(2), || gw.shedder().level() == HARD).await);
    let newest = close_code(&mut bulk, Duration::from_secs(5)).await;
    assert_eq!(
        newest,
        Some(4002),
        "the newer of the two subscribers goes first"
    );
    gw.shedder().set_budget(rss * 10);
    assert!(eventually(Duration::from_secs(2), || gw.shedder().level() == NORMAL).await);

    let stats = gw.stats();
    println!(
        "shedding counters: drops {:?}, refused {:?}, events {:?}",
        stats.drops, stats.refused, stats.shed_events
    );
    assert_eq!(stats.drops.get("shed"), Some(&1));
    assert_eq!(stats.refused.get("memory_pressure"), Some(&1));
    assert_eq!(stats.shed_events.get("enter_soft"), Some(&1));
    assert_eq!(stats.shed_events.get("enter_hard"), Some(&1));
    assert_eq!(stats.shed_events.get("recover"), Some(&2));
    assert!(
        stats
            .shed_events
            .get("closed_connection")
            .copied()
            .unwrap_or(0)
            >= 1
    );
    assert!(stats.closes(4002) >= 1);
    gw.shutdown().await;
}
