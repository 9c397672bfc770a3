//! Gateway settings: every flag has an environment variable and a documented default.

use clap::Parser;
use std::net::SocketAddr;
use std::time::Duration;

/// Settings of a gateway. Every field is a command-line flag and an environment
/// variable; the defaults are those of [`Config::default`].
#[derive(Debug, Clone, Parser)]
#[command(
    name = "moorline-gateway",
    version,
    about = "WebSocket gateway for moorline channels"
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "MOORLINE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Interval between server pings, in milliseconds.
    #[arg(long, env = "PING_INTERVAL_MS", default_value_t = 15_000)]
    pub ping_interval_ms: u64,

    /// Close a connection (code 4001) when nothing arrived from it for this long, in
    /// milliseconds.
    #[arg(long, env = "HEARTBEAT_TIMEOUT_MS", default_value_t = 40_000)]
    pub heartbeat_timeout_ms: u64,

    /// Largest accepted frame, in bytes.
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = moorline_core::protocol::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,

    /// Most channels one connection may subscribe to.
    #[arg(long, env = "MAX_CHANNELS_PER_CONNECTION", default_value_t = 128)]
    pub max_channels_per_connection: usize,

    /// Most frames waiting to be written to one connection; over it the connection is
    /// closed as a slow consumer (code 4000).
    #[arg(long, env = "OUTBOUND_QUEUE_FRAMES", default_value_t = 1024)]
    pub outbound_queue_frames: usize,

    /// Messages kept per channel for resuming subscribers.
    #[arg(long, env = "HISTORY_SIZE", default_value_t = 128)]
    pub history_size: usize,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "LOG_JSON", default_value_t = false)]
    pub log_json: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ping_interval_ms: 15_000,
            heartbeat_timeout_ms: 40_000,
            max_frame_bytes: moorline_core::protocol::DEFAULT_MAX_FRAME_BYTES,
            max_channels_per_connection: 128,
            outbound_queue_frames: 1024,
            history_size: 128,
            log_json: false,
        }
    }
}

impl Config {
    /// Defaults, listening on `127.0.0.1:0` (for tests).
    pub fn ephemeral() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::default()
        }
    }

    pub(crate) fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms.max(1))
    }

    pub(crate) fn heartbeat_timeout(&self) -> Duration {
        Duration::from_millis(self.heartbeat_timeout_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_defaults_match_default() {
        let parsed = Config::parse_from(["moorline-gateway"]);
        let default = Config::default();
        assert_eq!(parsed.addr, default.addr);
        assert_eq!(parsed.ping_interval_ms, default.ping_interval_ms);
        assert_eq!(parsed.heartbeat_timeout_ms, default.heartbeat_timeout_ms);
        assert_eq!(parsed.max_frame_bytes, default.max_frame_bytes);
        assert_eq!(
            parsed.max_channels_per_connection,
            default.max_channels_per_connection
        );
        assert_eq!(parsed.outbound_queue_frames, default.outbound_queue_frames);
        assert_eq!(parsed.history_size, default.history_size);
    }
}
