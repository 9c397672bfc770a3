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

    /// Most bytes waiting to be written to one connection; over it the connection is
    /// closed as a slow consumer (code 4000) without a flush.
    #[arg(long, env = "MAX_OUTBOUND_QUEUE_BYTES", default_value_t = 1024 * 1024)]
    pub max_outbound_bytes: usize,

    /// Inbound frames (publish, subscribe, ...) per second per connection; a burst of
    /// twice as many is allowed. Over it a frame gets a `rate_limited` error; a
    /// connection that keeps flooding is closed with 4502.
    #[arg(long, env = "MAX_FRAMES_PER_SEC", default_value_t = 100)]
    pub max_frames_per_sec: u32,

    /// A subscription expires after this many seconds unless the client subscribes
    /// again (moorline-core refreshes at half the TTL). 0 = never.
    #[arg(long, env = "SUBSCRIPTION_TTL_SECS", default_value_t = 300)]
    pub subscription_ttl_secs: u64,

    /// Memory budget in bytes for load shedding. Default: the cgroup's `memory.max`
    /// when set, else half of the machine's RAM.
    #[arg(long, env = "MEMORY_BUDGET_BYTES")]
    pub memory_budget_bytes: Option<u64>,

    /// How often RSS is sampled, in milliseconds.
    #[arg(long, env = "MEMORY_SAMPLE_MS", default_value_t = 1000)]
    pub memory_sample_ms: u64,

    /// RSS / budget at which non-critical messages are dropped and new sockets refused.
    #[arg(long, env = "SHED_SOFT_RATIO", default_value_t = 0.80)]
    pub shed_soft_ratio: f64,

    /// RSS / budget at which the newest connections are closed with 4002.
    #[arg(long, env = "SHED_HARD_RATIO", default_value_t = 0.95)]
    pub shed_hard_ratio: f64,

    /// RSS / budget under which shedding stops (hysteresis).
    #[arg(long, env = "SHED_RECOVER_RATIO", default_value_t = 0.70)]
    pub shed_recover_ratio: f64,

    /// Channel-name prefixes whose messages are never shed (comma-separated).
    #[arg(long, env = "CRITICAL_CHANNEL_PREFIXES", value_delimiter = ',')]
    pub critical_channel_prefixes: Vec<String>,

    /// Messages kept per channel for resuming subscribers.
    #[arg(long, env = "HISTORY_SIZE", default_value_t = 128)]
    pub history_size: usize,

    /// Most open connections on this node; past it new sockets are closed at once
    /// with 4002 (overloaded, retryable).
    #[arg(long, env = "MAX_CONNECTIONS_PER_POD", default_value_t = 5000)]
    pub max_connections: usize,

    /// On SIGTERM / Ctrl-C, spread the retryable 4003 (draining) closes of open
    /// sockets over this many milliseconds, then exit.
    #[arg(long, env = "GRACEFUL_SHUTDOWN_MS", default_value_t = 25_000)]
    pub graceful_shutdown_ms: u64,

    /// When set, `POST /publish` requires `Authorization: Bearer <key>`.
    #[arg(long, env = "API_KEY")]
    pub api_key: Option<String>,

    /// Allow browser pages of this origin (`*` for any) to call the HTTP endpoints
    /// (`/stats`, `/publish`, `/admin/*`). Default: no CORS headers.
    #[arg(long, env = "CORS_ALLOW_ORIGIN")]
    pub cors_allow_origin: Option<String>,

    /// Serve the files of this directory at `/` (the example apps use it).
    #[arg(long, env = "STATIC_DIR")]
    pub static_dir: Option<std::path::PathBuf>,

    /// Publish demo data: price ticks on `ticks` and a chat bot on `chat`.
    #[arg(long, env = "DEMO", default_value_t = false)]
    pub demo: bool,

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
            max_outbound_bytes: 1024 * 1024,
            max_frames_per_sec: 100,
            subscription_ttl_secs: 300,
            memory_budget_bytes: None,
            memory_sample_ms: 1000,
            shed_soft_ratio: 0.80,
            shed_hard_ratio: 0.95,
            shed_recover_ratio: 0.70,
            critical_channel_prefixes: Vec::new(),
            history_size: 128,
            max_connections: 5000,
            graceful_shutdown_ms: 25_000,
            api_key: None,
            cors_allow_origin: None,
            static_dir: None,
            demo: false,
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

    pub(crate) fn subscription_ttl(&self) -> Option<Duration> {
        (self.subscription_ttl_secs > 0).then(|| Duration::from_secs(self.subscription_ttl_secs))
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
        assert_eq!(parsed.max_outbound_bytes, default.max_outbound_bytes);
        assert_eq!(parsed.max_frames_per_sec, default.max_frames_per_sec);
        assert_eq!(parsed.subscription_ttl_secs, default.subscription_ttl_secs);
        assert_eq!(parsed.memory_budget_bytes, default.memory_budget_bytes);
        assert_eq!(parsed.memory_sample_ms, default.memory_sample_ms);
        assert_eq!(parsed.shed_soft_ratio, default.shed_soft_ratio);
        assert_eq!(parsed.shed_hard_ratio, default.shed_hard_ratio);
        assert_eq!(parsed.shed_recover_ratio, default.shed_recover_ratio);
        assert_eq!(
            parsed.critical_channel_prefixes,
            default.critical_channel_prefixes
        );
        assert_eq!(parsed.history_size, default.history_size);
        assert_eq!(parsed.max_connections, default.max_connections);
        assert_eq!(parsed.graceful_shutdown_ms, default.graceful_shutdown_ms);
        assert_eq!(parsed.api_key, default.api_key);
    }
}
