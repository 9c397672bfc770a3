//! Demo data for the example apps (`--demo`): price ticks on `ticks` and a chat bot on
//! `chat`, published through the hub like any other message.

use crate::hub::Hub;
use serde_json::json;
use std::sync::Weak;
use std::time::Duration;

const SYMBOLS: [&str; 8] = [
    "AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "TSLA", "META", "ORCL",
];
const LINES: [&str; 5] = [
    "welcome to moorline",
    "unmount me: nothing leaks",
    "the counters below go back to zero",
    "every queue here is bounded",
    "try the stress toggle",
];

/// Publish until the hub is gone: a tick for one symbol every 100 ms, a chat line
/// every 2 s.
pub(crate) async fn run(hub: Weak<Hub>) {
    let mut prices: Vec<f64> = (0..SYMBOLS.len())
        .map(|i| 100.0 + 25.0 * i as f64)
        .collect();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for n in 0u64.. {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        // xorshift: a cheap, deterministic walk for demo prices.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = (n as usize) % SYMBOLS.len();
        let step = (seed % 200) as f64 / 100.0 - 1.0;
        prices[i] = (prices[i] + step).max(1.0);
        let _ = hub.publish(
            "ticks",
            json!({"symbol": SYMBOLS[i], "price": (prices[i] * 100.0).round() / 100.0, "seq": n})
                .into(),
        );
        if n % 20 == 0 {
            let line = LINES[(n / 20) as usize % LINES.len()];
            let _ = hub.publish(
                "chat",
                json!({"id": n, "author": "moorline-bot", "text": line}).into(),
            );
        }
    }
}
