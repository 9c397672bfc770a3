//! Wire protocol: JSON frames in both directions, channel-name rules, size limits.
//!
//! Every frame is a JSON object with a `"type"` tag. Client frames carry a request
//! `id` where the server may answer with an error that names it.
//!
//! ```
//! use moorline_core::protocol::{ClientFrame, ServerFrame};
//!
//! let frame = ClientFrame::Subscribe { id: 1, channel: "prices".into(), resume: None };
//! let text = frame.to_text();
//! assert_eq!(text, r#"{"type":"subscribe","id":1,"channel":"prices"}"#);
//! assert_eq!(ClientFrame::parse(&text).unwrap(), frame);
//!
//! let ping = ServerFrame::parse(r#"{"type":"ping"}"#).unwrap();
//! assert_eq!(ping, ServerFrame::Ping);
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::close_code::CloseCode;

/// Version of the wire protocol; sent by clients as the `v` query parameter.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest accepted channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 128;

/// Default largest frame a gateway accepts, in bytes (64 KiB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;

/// A position in a channel's history: the offset of the last message seen and the
/// epoch of the history it belongs to (a new epoch means offsets restarted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Offset of a message; offsets grow by one per message within an epoch.
    pub offset: u64,
    /// Identifies one run of a channel's history.
    pub epoch: String,
}

/// A JSON value carried by `publish` and `message` frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(serde_json::Value);

impl Payload {
    /// Serialize any value into a payload.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_value(value).map(Payload)
    }

    /// Parse JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text).map(Payload)
    }

    /// The JSON value.
    pub fn as_value(&self) -> &serde_json::Value {
        &self.0
    }

    /// Decode into a typed value.
    pub fn decode<T: for<'de> Deserialize<'de>>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0)
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Payload(value)
    }
}

/// A frame sent by a client to the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientFrame {
    /// Start (or refresh) a subscription. `resume` asks for messages after a position.
    Subscribe {
        /// Request id, echoed in `subscribed` or `error`.
        id: u64,
        /// Channel name (see [`validate_channel`]).
        channel: String,
        /// Resume after this position when the gateway still has the history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Position>,
    },
    /// Stop a subscription.
    Unsubscribe {
        /// Request id.
        id: u64,
        /// Channel name.
        channel: String,
    },
    /// Publish `data` to every subscriber of `channel`.
    Publish {
        /// Request id, echoed in `published` or `error`.
        id: u64,
        /// Channel name.
        channel: String,
        /// Any JSON value.
        data: Payload,
    },
    /// Answer to a server `ping`.
    Pong,
}

impl ClientFrame {
    /// Serialize to the JSON text sent on the socket.
    pub fn to_text(&self) -> String {
        // Serializing these types cannot fail: all keys are strings and RawValue is valid JSON.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse a frame received from a client.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        parse_frame(text)
    }

    /// The request id of the frame, when it has one.
    pub fn id(&self) -> Option<u64> {
        match self {
            ClientFrame::Subscribe { id, .. }
            | ClientFrame::Unsubscribe { id, .. }
            | ClientFrame::Publish { id, .. } => Some(*id),
            ClientFrame::Pong => None,
        }
    }
}

/// Why the gateway ended a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnsubscribeReason {
    /// The client asked.
    Requested,
    /// The subscription's TTL passed without a refresh.
    Expired,
    /// The gateway removed it (limits, shedding, shutdown).
    Server,
    /// A reason this client version does not know.
    #[serde(other)]
    Unknown,
}

/// Machine-readable error codes carried by `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame was not valid JSON or missed required fields.
    MalformedFrame,
    /// The frame's `type` is not one this gateway knows.
    UnknownType,
    /// The channel name breaks the rules of [`validate_channel`].
    InvalidChannel,
    /// The frame is larger than the gateway accepts.
    FrameTooLarge,
    /// Binary frames are not part of the protocol.
    BinaryNotSupported,
    /// Too many channels on one connection.
    TooManyChannels,
    /// Publishing or subscribing too fast.
    RateLimited,
    /// Unsubscribe from a channel the connection is not subscribed to.
    NotSubscribed,
    /// Not allowed.
    Forbidden,
    /// The gateway is shedding load (memory pressure); retry later.
    Overloaded,
    /// The gateway failed; retry later.
    Internal,
    /// A code this client version does not know.
    #[serde(other)]
    Unknown,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        f.write_str(&text)
    }
}

/// A frame sent by the gateway to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerFrame {
    /// A subscription is live; `position` is the channel's current position.
    Subscribed {
        /// Request id of the `subscribe`.
        id: u64,
        /// Channel name.
        channel: String,
        /// Current position of the channel (the last offset, 0 when empty).
        position: Position,
        /// Seconds before the subscription expires unless refreshed (0 = never).
        #[serde(default)]
        ttl_secs: u64,
    },
    /// One message of a channel.
    Message {
        /// Channel name.
        channel: String,
        /// Offset of this message in the channel (starts at 1, grows by one).
        offset: u64,
        /// Epoch of the channel's history.
        epoch: String,
        /// The published JSON value.
        data: Payload,
    },
    /// A publish was accepted.
    Published {
        /// Request id of the `publish`.
        id: u64,
        /// Offset given to the message.
        offset: u64,
    },
    /// A subscription ended.
    Unsubscribed {
        /// Channel name.
        channel: String,
        /// Why it ended.
        reason: UnsubscribeReason,
    },
    /// A request failed; the connection stays usable.
    Error {
        /// Id of the failed request when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// What went wrong, for programs.
        code: ErrorCode,
        /// What went wrong, for people.
        message: String,
    },
    /// Liveness probe; answer with `pong`.
    Ping,
}

impl ServerFrame {
    /// Serialize to the JSON text sent on the socket.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parse a frame received from the gateway.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        parse_frame(text)
    }
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Not JSON, not an object, or a required field is missing or has the wrong type.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A JSON object whose `type` is not known.
    #[error("unknown frame type `{0}`")]
    UnknownType(String),
}

impl FrameError {
    /// The error code a gateway answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::Malformed(_) => ErrorCode::MalformedFrame,
            FrameError::UnknownType(_) => ErrorCode::UnknownType,
        }
    }
}

fn parse_frame<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, FrameError> {
    match serde_json::from_str::<T>(text) {
        Ok(frame) => Ok(frame),
        Err(err) => {
            // Tell an unknown `type` apart from a malformed frame.
            #[derive(Deserialize)]
            struct Tag {
                #[serde(rename = "type")]
                kind: String,
            }
            match serde_json::from_str::<Tag>(text) {
                Ok(tag) if err.to_string().contains("unknown variant") => {
                    Err(FrameError::UnknownType(tag.kind))
                }
                _ => Err(FrameError::Malformed(err.to_string())),
            }
        }
    }
}

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The name is empty.
    #[error("channel name is empty")]
    Empty,
    /// The name is longer than [`MAX_CHANNEL_LEN`] bytes.
    #[error("channel name is {0} bytes, the limit is {MAX_CHANNEL_LEN}")]
    TooLong(usize),
    /// The name holds a character outside `A-Z a-z 0-9 _ - . : / @ #`.
    #[error("channel name holds the invalid character {0:?}")]
    InvalidChar(char),
}

/// Check a channel name: 1 to [`MAX_CHANNEL_LEN`] bytes of ASCII letters, digits and
/// `_ - . : / @ #`. Client and gateway share this rule.
///
/// ```
/// use moorline_core::protocol::{validate_channel, ChannelError};
/// assert!(validate_channel("chat:room-1").is_ok());
/// assert_eq!(validate_channel(""), Err(ChannelError::Empty));
/// assert_eq!(validate_channel("a b"), Err(ChannelError::InvalidChar(' ')));
/// ```
pub fn validate_channel(name: &str) -> Result<(), ChannelError> {
    if name.is_empty() {
        return Err(ChannelError::Empty);
    }
    if name.len() > MAX_CHANNEL_LEN {
        return Err(ChannelError::TooLong(name.len()));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.:/@#".contains(*c)))
    {
        Some(bad) => Err(ChannelError::InvalidChar(bad)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let data = Payload::from_json(r#"{"a":1}"#).unwrap();
        let frames = vec![
            ClientFrame::Subscribe {
                id: 3,
                channel: "c".into(),
                resume: Some(Position {
                    offset: 9,
                    epoch: "e".into(),
                }),
            },
            ClientFrame::Unsubscribe {
                id: 4,
                channel: "c".into(),
            },
            ClientFrame::Publish {
                id: 5,
                channel: "c".into(),
                data,
            },
            ClientFrame::Pong,
        ];
        for frame in frames {
            let text = frame.to_text();
            assert_eq!(ClientFrame::parse(&text).unwrap().to_text(), text);
        }
    }

    #[test]
    fn unknown_type_is_told_apart_from_malformed() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"shout","id":1}"#),
            Err(FrameError::UnknownType("shout".into()))
        );
        assert!(matches!(
            ClientFrame::parse("{not json"),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"subscribe"}"#),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            ClientFrame::parse("[1,2]"),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_error_code_from_a_newer_server_still_parses() {
        let frame =
            ServerFrame::parse(r#"{"type":"error","code":"brand_new","message":"x"}"#).unwrap();
        assert!(matches!(
            frame,
            ServerFrame::Error {
                code: ErrorCode::Unknown,
                id: None,
                ..
            }
        ));
    }

    #[test]
    fn channel_rules() {
        assert!(validate_channel(&"a".repeat(MAX_CHANNEL_LEN)).is_ok());
        assert_eq!(
            validate_channel(&"a".repeat(MAX_CHANNEL_LEN + 1)),
            Err(ChannelError::TooLong(MAX_CHANNEL_LEN + 1))
        );
        assert_eq!(validate_channel("é"), Err(ChannelError::InvalidChar('é')));
        assert_eq!(
            validate_channel("a\nb"),
            Err(ChannelError::InvalidChar('\n'))
        );
    }

    #[test]
    fn error_code_display_is_the_wire_name() {
        assert_eq!(ErrorCode::InvalidChannel.to_string(), "invalid_channel");
    }
}
