//! Bad input sent to the gateway gets an error frame with a code; the connection and
//! other connections stay usable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moorline_core::protocol::{ErrorCode, ServerFrame};
use moorline_tests::{gateway, next_frame, raw, send_text, test_config};

async fn expect_error(ws: &mut moorline_tests::RawSocket, want: ErrorCode, want_id: Option<u64>) {
    match next_frame(ws).await {
        ServerFrame::Error { code, id, message } => {
            assert_eq!(code, want, "{message}");
            assert_eq!(id, want_id);
            assert!(!message.is_empty());
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
}

async fn still_usable(ws: &mut moorline_tests::RawSocket, channel: &str) {
    send_text(
        ws,
        &format!(r#"{{"type":"subscribe","id":900,"channel":"{channel}"}}"#),
    )
    .await;
    assert!(matches!(
        next_frame(ws).await,
        ServerFrame::Subscribed { id: 900, .. }
    ));
}

#[tokio::test]
async fn malformed_json_gets_an_error_frame_and_the_connection_stays_usable() {
    let gw = gateway(test_config()).await;
    let mut ws = raw(&gw).await;
    send_text(&mut ws, "{this is not json").await;
    expect_error(&mut ws, ErrorCode::MalformedFrame, None).await;
    send_text(&mut ws, r#"{"type":"subscribe","id":5}"#).await;
    expect_error(&mut ws, ErrorCode::MalformedFrame, Some(5)).await;
    send_text(&mut ws, "[]").await;
    expect_error(&mut ws, ErrorCode::MalformedFrame, None).await;
    still_usable(&mut ws, "bad:after-malformed").await;
    assert_eq!(gw.stats().errors.get("malformed_frame"), Some(&3));
    gw.shutdown().await;
}

#[tokio::test]
async fn unknown_frame_type_gets_an_error_frame() {
    let gw = gateway(test_config()).await;
    let mut ws = raw(&gw).await;
    send_text(&mut ws, r#"{"type":"teleport","id":3}"#).await;
    expect_error(&mut ws, ErrorCode::UnknownType, Some(3)).await;
    still_usable(&mut ws, "bad:after-unknown").await;
    gw.shutdown().await;
}

#[tokio::test]
async fn invalid_channel_names_get_an_error_frame() {
    let gw = gateway(test_config()).await;
    let mut ws = raw(&gw).await;
    let long = "x".repeat(200);
    for (i, name) in [
        "",
        "has space",
        "emoji-\u{1F600}",
        long.as_str(),
        "new\\nline",
    ]
    .iter()
    .enumerate()
    {
        let id = i as u64 + 1;
        let frame = serde_json::json!({"type": "subscribe", "id": id, "channel": name}).to_string();
        send_text(&mut ws, &frame).await;
        expect_error(&mut ws, ErrorCode::InvalidChannel, Some(id)).await;
        let frame = serde_json::json!({"type": "publish", "id": id, "channel": name, "data": 1})
            .to_string();
        send_text(&mut ws, &frame).await;
        expect_error(&mut ws, ErrorCode::InvalidChannel, Some(id)).await;
    }
    assert_eq!(gw.stats().subscriptions, 0);
    still_usable(&mut ws, "bad:after-invalid").await;
    gw.shutdown().await;
}

#[tokio::test]
async fn bad_input_on_one_connection_does_not_touch_another() {
    let gw = gateway(test_config()).await;
    let mut good = raw(&gw).await;
    let mut bad = raw(&gw).await;
    still_usable(&mut good, "bad:shared").await;
    for _ in 0..20 {
        send_text(&mut bad, "garbage").await;
    }
    send_text(
        &mut bad,
        r#"{"type":"publish","id":1,"channel":"bad:shared","data":{"ok":true}}"#,
    )
    .await;
    for _ in 0..20 {
        expect_error(&mut bad, ErrorCode::MalformedFrame, None).await;
    }
    assert!(matches!(
        next_frame(&mut bad).await,
        ServerFrame::Published { id: 1, offset: 1 }
    ));
    match next_frame(&mut good).await {
        ServerFrame::Message {
            channel,
            offset,
            data,
            ..
        } => {
            assert_eq!(channel, "bad:shared");
            assert_eq!(offset, 1);
            assert_eq!(data.as_value(), &serde_json::json!({"ok": true}));
        }
        other => panic!("{other:?}"),
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn unsubscribe_of_an_unknown_channel_is_an_error() {
    let gw = gateway(test_config()).await;
    let mut ws = raw(&gw).await;
    send_text(
        &mut ws,
        r#"{"type":"unsubscribe","id":8,"channel":"never"}"#,
    )
    .await;
    expect_error(&mut ws, ErrorCode::NotSubscribed, Some(8)).await;
    gw.shutdown().await;
}
