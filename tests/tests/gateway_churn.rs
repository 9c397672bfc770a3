//! Churn: 10,000 connect/subscribe/disconnect cycles, a third of them abrupt TCP
//! drops, leave the hub empty (asserted through /metrics). Alone in its binary so the
//! printed RSS is this test's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moorline_core::protocol::ServerFrame;
use moorline_tests::{
    eventually, gateway, http, next_frame, prometheus_value, raw, send_text, test_config,
};
use std::time::Duration;

const CYCLES: usize = 10_000;
const WORKERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cycles_leave_no_connection_and_no_subscription() {
    let gw = std::sync::Arc::new(gateway(test_config()).await);
    let rss_before = moorline_gateway::shedding::rss_bytes().unwrap_or(0);
    let started = std::time::Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let gw = gw.clone();
        workers.push(tokio::spawn(async move {
            for i in 0..CYCLES / WORKERS {
                let mut ws = raw(&gw).await;
                let channel = format!("churn:{}", (w * 7 + i) % 50);
                send_text(
                    &mut ws,
                    &format!(r#"{{"type":"subscribe","id":1,"channel":"{channel}"}}"#),
                )
                .await;
                assert!(matches!(
                    next_frame(&mut ws).await,
                    ServerFrame::Subscribed { .. }
                ));
                match i % 3 {
                    // Abrupt: drop the TCP stream, no close frame.
                    0 => drop(ws),
                    // Clean close.
                    1 => {
                        let _ = ws.close(None).await;
                    }
                    // Unsubscribe first, then close.
                    _ => {
                        send_text(
                            &mut ws,
                            &format!(r#"{{"type":"unsubscribe","id":2,"channel":"{channel}"}}"#),
                        )
                        .await;
                        assert!(matches!(
                            next_frame(&mut ws).await,
                            ServerFrame::Unsubscribed { .. }
                        ));
                        let _ = ws.close(None).await;
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.unwrap();
    }
    let took = started.elapsed();
    assert!(
        eventually(Duration::from_secs(10), || {
            let s = gw.stats();
            s.connections == 0 && s.subscriptions == 0
        })
        .await,
        "{:?}",
        gw.stats()
    );
    let (status, text) = http(&gw, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(prometheus_value(&text, "moorline_connections"), Some(0.0));
    assert_eq!(prometheus_value(&text, "moorline_subscriptions"), Some(0.0));
    assert_eq!(prometheus_value(&text, "moorline_channels"), Some(0.0));
    assert_eq!(
        prometheus_value(&text, "moorline_outbound_queue_bytes"),
        Some(0.0)
    );
    assert_eq!(
        prometheus_value(&text, "moorline_connections_accepted_total"),
        Some(CYCLES as f64)
    );
    let rss_after = moorline_gateway::shedding::rss_bytes().unwrap_or(0);
    let stats = gw.stats();
    println!(
        "churn: {CYCLES} cycles in {took:?}; closes {:?}; RSS before {rss_before} bytes, after {rss_after} bytes (delta {:+})",
        stats.closes_by_code,
        rss_after as i64 - rss_before as i64
    );
    assert!(stats.closes(1006) > 0, "abrupt drops were seen as 1006");
}
