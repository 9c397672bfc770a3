//! The close-code contract between gateway and clients, as one enum.
//!
//! | code | variant | sent by | client does |
//! |---|---|---|---|
//! | 1000 | [`Normal`](CloseCode::Normal) | either side | no reconnect when the client asked; else reconnect with backoff |
//! | 1001 | [`GoingAway`](CloseCode::GoingAway) | gateway draining / page leaving | reconnect with jitter |
//! | 1005 | [`NoStatus`](CloseCode::NoStatus) | (no code in the close frame) | reconnect with backoff |
//! | 1006 | [`Abnormal`](CloseCode::Abnormal) | (no close frame: network drop) | reconnect with backoff |
//! | 1011 | [`InternalError`](CloseCode::InternalError) | gateway | reconnect with backoff |
//! | 1012 | [`ServiceRestart`](CloseCode::ServiceRestart) | gateway restarting | reconnect with jitter |
//! | 1013 | [`TryAgainLater`](CloseCode::TryAgainLater) | gateway overloaded | reconnect with backoff |
//! | 1002, 1003, 1007, 1008, 1009, 1010 | [`Protocol`](CloseCode::Protocol) etc. | either side | stop, surface the error |
//! | 4000 | [`SlowConsumer`](CloseCode::SlowConsumer) | gateway: outbound queue over its limit | reconnect with backoff |
//! | 4001 | [`HeartbeatTimeout`](CloseCode::HeartbeatTimeout) | either side: no frame within the deadline | reconnect with backoff |
//! | 4002 | [`Overloaded`](CloseCode::Overloaded) | gateway: memory pressure or connection limit | reconnect with backoff |
//! | 4003 | [`Draining`](CloseCode::Draining) | gateway: graceful shutdown | reconnect with jitter |
//! | 4000-4499 | [`Other`](CloseCode::Other) | gateway | reconnect with backoff |
//! | 4500 | [`Unauthorized`](CloseCode::Unauthorized) | gateway | stop, surface the error |
//! | 4501 | [`BadProtocol`](CloseCode::BadProtocol) | gateway: unsupported protocol version | stop, surface the error |
//! | 4502 | [`PolicyViolation`](CloseCode::PolicyViolation) | gateway: repeated bad input | stop, surface the error |
//! | 4500-4999 | [`Other`](CloseCode::Other) | gateway | stop, surface the error |
//!
//! Any other code (3000-3999, unknown 1xxx) is treated as retryable: a client that
//! cannot tell keeps trying, with backoff, rather than going silent.

use std::fmt;

/// A WebSocket close code with its meaning in moorline. See the module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CloseCode {
    /// 1000: normal close.
    Normal,
    /// 1001: going away.
    GoingAway,
    /// 1002: protocol error.
    Protocol,
    /// 1003: unsupported data.
    Unsupported,
    /// 1005: the close frame had no status code.
    NoStatus,
    /// 1006: the connection dropped without a close frame.
    Abnormal,
    /// 1007: invalid payload data (not UTF-8).
    InvalidPayload,
    /// 1008: policy violation.
    Policy,
    /// 1009: message too big.
    TooBig,
    /// 1010: missing extension.
    MandatoryExtension,
    /// 1011: internal server error.
    InternalError,
    /// 1012: service restart.
    ServiceRestart,
    /// 1013: try again later.
    TryAgainLater,
    /// 4000: the connection could not keep up with its outbound queue.
    SlowConsumer,
    /// 4001: no frame arrived within the heartbeat deadline.
    HeartbeatTimeout,
    /// 4002: the gateway is overloaded (memory pressure, connection limit).
    Overloaded,
    /// 4003: the gateway is draining for shutdown.
    Draining,
    /// 4500: not authorized.
    Unauthorized,
    /// 4501: the client speaks a protocol version the gateway does not.
    BadProtocol,
    /// 4502: repeated bad input.
    PolicyViolation,
    /// Any other code.
    Other(u16),
}

impl CloseCode {
    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::NoStatus => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::InvalidPayload => 1007,
            CloseCode::Policy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::MandatoryExtension => 1010,
            CloseCode::InternalError => 1011,
            CloseCode::ServiceRestart => 1012,
            CloseCode::TryAgainLater => 1013,
            CloseCode::SlowConsumer => 4000,
            CloseCode::HeartbeatTimeout => 4001,
            CloseCode::Overloaded => 4002,
            CloseCode::Draining => 4003,
            CloseCode::Unauthorized => 4500,
            CloseCode::BadProtocol => 4501,
            CloseCode::PolicyViolation => 4502,
            CloseCode::Other(code) => code,
        }
    }

    /// Whether a client should reconnect (with backoff) after a close with this code
    /// that it did not ask for. `Normal` is retryable here: when the *client* asked
    /// for the close, the session never reconnects, whatever the code.
    pub const fn is_retryable(self) -> bool {
        !matches!(
            self.as_u16(),
            1002 | 1003 | 1007 | 1008 | 1009 | 1010 | 4500..=4999
        )
    }

    /// Whether the close asks clients to spread their reconnects (drain, restart).
    pub const fn is_going_away(self) -> bool {
        matches!(
            self,
            CloseCode::GoingAway | CloseCode::ServiceRestart | CloseCode::Draining
        )
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::GoingAway,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1005 => CloseCode::NoStatus,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::InvalidPayload,
            1008 => CloseCode::Policy,
            1009 => CloseCode::TooBig,
            1010 => CloseCode::MandatoryExtension,
            1011 => CloseCode::InternalError,
            1012 => CloseCode::ServiceRestart,
            1013 => CloseCode::TryAgainLater,
            4000 => CloseCode::SlowConsumer,
            4001 => CloseCode::HeartbeatTimeout,
            4002 => CloseCode::Overloaded,
            4003 => CloseCode::Draining,
            4500 => CloseCode::Unauthorized,
            4501 => CloseCode::BadProtocol,
            4502 => CloseCode::PolicyViolation,
            other => CloseCode::Other(other),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.as_u16()
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.as_u16(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for n in [
            1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 4000,
            4001, 4002, 4003, 4500, 4501, 4502, 3000, 4100, 4999,
        ] {
            assert_eq!(CloseCode::from(n).as_u16(), n);
        }
        assert_eq!(CloseCode::from(4001), CloseCode::HeartbeatTimeout);
    }

    #[test]
    fn retryable_versus_terminal() {
        for retry in [
            1000, 1001, 1005, 1006, 1011, 1012, 1013, 4000, 4001, 4002, 4003, 4499,
        ] {
            assert!(CloseCode::from(retry).is_retryable(), "{retry}");
        }
        for stop in [1002, 1003, 1007, 1008, 1009, 1010, 4500, 4501, 4502, 4999] {
            assert!(!CloseCode::from(stop).is_retryable(), "{stop}");
        }
    }
}
