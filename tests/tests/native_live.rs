//! Live-resource counters of native clients return to zero. Alone in its binary:
//! the counters are process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moorline_core::{live, Client, ClientOptions, RegistryConfig};
use moorline_tests::{eventually, gateway, test_config};
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

#[tokio::test]
async fn native_live_counters_return_to_zero() {
    let gw = gateway(test_config()).await;
    let url = gw.ws_url();
    for _ in 0..50 {
        let client = Client::connect(&url, options()).unwrap();
        let sub = client.subscribe::<u32>("e2e:cycle").unwrap();
        let events = client.events();
        // Let the socket open, so the cycle covers a live socket too.
        assert!(
            eventually(Duration::from_secs(5), || client.state()
                == moorline_core::ConnectionState::Open)
            .await
        );
        assert!(live().sockets >= 1);
        drop((sub, events, client));
    }
    // The clients are gone once their lingering channels expire.
    assert!(
        eventually(Duration::from_secs(5), || {
            let l = live();
            l.clients == 0 && l.handles == 0 && l.sockets == 0
        })
        .await,
        "{:?}",
        live()
    );
    assert!(eventually(Duration::from_secs(5), || gw.stats().connections == 0).await);
    gw.shutdown().await;
}
