//! Sans-IO session tests with a fake clock: every state transition and the known bug
//! classes of reconnecting WebSocket clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use moorline_core::protocol::{ClientFrame, Payload, Position, ServerFrame, UnsubscribeReason};
use moorline_core::queue::OverflowPolicy;
use moorline_core::session::{
    Action, Backoff, ConnectionState, SendError, Session, SessionConfig, SessionError, SocketId,
};
use moorline_core::CloseCode;
use std::time::Duration;
use web_time::Instant;

/// A fake clock: a fixed origin plus a manually advanced offset.
struct Clock {
    origin: Instant,
    offset: Duration,
}

impl Clock {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            offset: Duration::ZERO,
        }
    }
    fn now(&self) -> Instant {
        self.origin + self.offset
    }
    fn advance(&mut self, by: Duration) -> Instant {
        self.offset += by;
        self.now()
    }
    fn set(&mut self, at: Instant) {
        self.offset = at - self.origin;
    }
}

fn config() -> SessionConfig {
    SessionConfig::default()
}

fn actions(s: &mut Session) -> Vec<Action> {
    s.take_actions().collect()
}

fn connects(actions: &[Action]) -> Vec<SocketId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connect(id) => Some(*id),
            _ => None,
        })
        .collect()
}

fn transmits(s: &mut Session) -> Vec<ClientFrame> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|(_, text)| ClientFrame::parse(&text).unwrap())
        .collect()
}

/// Open a session and its first socket.
fn open_session(cfg: SessionConfig, clock: &Clock) -> (Session, SocketId) {
    let mut s = Session::new(cfg, 42);
    s.open(clock.now());
    let socket = connects(&actions(&mut s))[0];
    s.on_open(socket, clock.now());
    actions(&mut s);
    (s, socket)
}

/// Drop the current socket and run the retry timer; returns the delay used.
fn drop_and_retry(s: &mut Session, clock: &mut Clock) -> (Duration, SocketId) {
    let socket = s.socket().unwrap();
    let before = clock.now();
    s.on_close(socket, CloseCode::Abnormal, "", before);
    assert_eq!(s.state(), ConnectionState::Reconnecting);
    let at = s.poll_timeout().unwrap();
    let delay = at - before;
    clock.set(at);
    actions(s);
    s.handle_timeout(clock.now());
    let next = connects(&actions(s));
    assert_eq!(next.len(), 1, "exactly one connect per retry");
    (delay, next[0])
}

#[test]
fn walks_idle_connecting_open_closing_closed() {
    let clock = Clock::new();
    let mut s = Session::new(config(), 1);
    assert_eq!(s.state(), ConnectionState::Idle);
    s.open(clock.now());
    let acts = actions(&mut s);
    assert_eq!(
        acts,
        vec![
            Action::Connect(SocketId(1)),
            Action::StateChanged(ConnectionState::Connecting)
        ]
    );
    s.on_open(SocketId(1), clock.now());
    assert_eq!(s.state(), ConnectionState::Open);
    s.close(clock.now());
    assert_eq!(s.state(), ConnectionState::Closing);
    let acts = actions(&mut s);
    assert!(acts.contains(&Action::Close {
        socket: SocketId(1),
        code: CloseCode::Normal,
        reason: "client closed"
    }));
    s.on_close(SocketId(1), CloseCode::Normal, "", clock.now());
    assert_eq!(s.state(), ConnectionState::Closed);
    assert!(actions(&mut s).contains(&Action::Release(SocketId(1))));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn backoff_delays_stay_within_cap_and_spread_at_the_cap() {
    let mut clock = Clock::new();
    let cfg = SessionConfig {
        backoff: Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
            stable_after: Duration::from_secs(10),
        },
        ..config()
    };
    let backoff = cfg.backoff;
    let (mut s, _) = open_session(cfg, &clock);
    let mut at_cap = Vec::new();
    for attempt in 0..40u32 {
        let (delay, _) = drop_and_retry(&mut s, &mut clock);
        let cap = backoff.cap(attempt);
        assert!(delay <= cap, "attempt {attempt}: {delay:?} > cap {cap:?}");
        if cap == backoff.max {
            at_cap.push(delay);
        }
    }
    // Full jitter survives the cap: delays at the cap are spread, not all equal to it.
    assert!(at_cap.len() >= 30);
    let min = *at_cap.iter().min().unwrap();
    let max = *at_cap.iter().max().unwrap();
    assert!(
        max - min > Duration::from_millis(500),
        "spread {min:?}..{max:?}"
    );
    assert!(at_cap.iter().filter(|d| **d == backoff.max).count() < 3);
}

#[test]
fn attempt_counter_resets_after_a_stable_period() {
    let mut clock = Clock::new();
    let cfg = SessionConfig {
        backoff: Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(60),
            stable_after: Duration::from_secs(5),
        },
        ..config()
    };
    let (mut s, _) = open_session(cfg, &clock);
    // Five quick failures (never open) push the cap to 100ms * 2^5 = 3.2 s.
    for _ in 0..5 {
        drop_and_retry(&mut s, &mut clock);
    }
    // Open and stay open past the stable period.
    let socket = s.socket().unwrap();
    s.on_open(socket, clock.now());
    clock.advance(Duration::from_secs(6));
    s.on_inbound(socket, Some(&ServerFrame::Ping), clock.now());
    // The next delay is drawn from attempt 0 again: at most the base.
    for _ in 0..20 {
        let socket = s.socket().unwrap();
        s.on_open(socket, clock.now());
        clock.advance(Duration::from_secs(6));
        s.on_inbound(socket, Some(&ServerFrame::Ping), clock.now());
        let (delay, _) = drop_and_retry(&mut s, &mut clock);
        assert!(delay <= Duration::from_millis(100), "{delay:?}");
    }
}

#[test]
fn regression_reconnect_scheduled_twice_when_error_and_close_both_fire() {
    let mut clock = Clock::new();
    let (mut s, socket) = open_session(config(), &clock);
    s.on_error(socket, clock.now());
    s.on_close(socket, CloseCode::Abnormal, "", clock.now());
    assert_eq!(s.state(), ConnectionState::Reconnecting);
    let at = s.poll_timeout().unwrap();
    clock.set(at);
    s.handle_timeout(clock.now());
    s.handle_timeout(clock.now());
    let acts = actions(&mut s);
    assert_eq!(
        connects(&acts).len(),
        1,
        "one drop, one new socket: {acts:?}"
    );
    assert_eq!(s.stats().closes_by_code.get(&1006), Some(&1));
}

#[test]
fn regression_close_during_retry_wait_then_reconnect() {
    let mut clock = Clock::new();
    let (mut s, socket) = open_session(config(), &clock);
    s.on_close(socket, CloseCode::Abnormal, "", clock.now());
    assert_eq!(s.state(), ConnectionState::Reconnecting);
    s.close(clock.now());
    assert_eq!(s.state(), ConnectionState::Closed);
    assert_eq!(s.poll_timeout(), None, "retry timer cancelled");
    actions(&mut s);
    for _ in 0..10 {
        clock.advance(Duration::from_secs(60));
        s.handle_timeout(clock.now());
        s.set_online(true, clock.now());
        s.set_visible(true, clock.now());
    }
    assert!(connects(&actions(&mut s)).is_empty(), "no reconnect ever");
    // close() is idempotent.
    s.close(clock.now());
    assert!(actions(&mut s).is_empty());
    // open() re-enables.
    s.open(clock.now());
    assert_eq!(connects(&actions(&mut s)).len(), 1);
}

#[test]
fn close_is_valid_in_every_state() {
    let clock = Clock::new();
    // Idle.
    let mut s = Session::new(config(), 1);
    s.close(clock.now());
    assert_eq!(s.state(), ConnectionState::Closed);
    // Connecting.
    let mut s = Session::new(config(), 1);
    s.open(clock.now());
    s.close(clock.now());
    assert_eq!(s.state(), ConnectionState::Closing);
    // Closing: a late open of the closing socket does not revive it.
    s.on_open(SocketId(1), clock.now());
    assert_eq!(s.state(), ConnectionState::Closing);
    s.close(clock.now());
    assert_eq!(s.state(), ConnectionState::Closing);
    // The close timeout ends Closing even without a close event.
    let at = s.poll_timeout().unwrap();
    s.handle_timeout(at);
    assert_eq!(s.state(), ConnectionState::Closed);
}

#[test]
fn close_settles_pending_sends_with_an_error() {
    let clock = Clock::new();
    let mut s = Session::new(config(), 1);
    s.open(clock.now());
    let a = s.publish("c", Payload::from_json("1").unwrap()).unwrap();
    let b = s.publish("c", Payload::from_json("2").unwrap()).unwrap();
    actions(&mut s);
    s.close(clock.now());
    let acts = actions(&mut s);
    for id in [a, b] {
        assert!(acts.contains(&Action::SendFailed {
            id,
            error: SendError::Closed
        }));
    }
    assert_eq!(s.outbox_len(), 0);
    assert_eq!(
        s.publish("c", Payload::from_json("3").unwrap()),
        Err(SendError::Closed)
    );
}

#[test]
fn regression_late_events_of_a_replaced_socket_are_ignored() {
    let mut clock = Clock::new();
    let (mut s, old) = open_session(config(), &clock);
    let (_, new) = drop_and_retry(&mut s, &mut clock);
    assert_ne!(old, new);
    // The old socket's events arrive late.
    s.on_open(old, clock.now());
    s.on_error(old, clock.now());
    s.on_close(old, CloseCode::Abnormal, "", clock.now());
    assert!(!s.on_inbound(old, Some(&ServerFrame::Ping), clock.now()));
    assert_eq!(s.state(), ConnectionState::Connecting);
    assert!(connects(&actions(&mut s)).is_empty());
    s.on_open(new, clock.now());
    assert_eq!(s.state(), ConnectionState::Open);
}

#[test]
fn retryable_and_terminal_close_codes() {
    let clock = Clock::new();
    for code in [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::Abnormal,
        CloseCode::SlowConsumer,
        CloseCode::HeartbeatTimeout,
        CloseCode::Overloaded,
        CloseCode::Draining,
        CloseCode::ServiceRestart,
    ] {
        let (mut s, socket) = open_session(config(), &clock);
        s.on_close(socket, code, "", clock.now());
        assert_eq!(s.state(), ConnectionState::Reconnecting, "{code}");
    }
    for code in [
        CloseCode::Unauthorized,
        CloseCode::BadProtocol,
        CloseCode::PolicyViolation,
        CloseCode::Protocol,
        CloseCode::Other(4999),
    ] {
        let (mut s, socket) = open_session(config(), &clock);
        s.on_close(socket, code, "nope", clock.now());
        assert_eq!(s.state(), ConnectionState::Closed, "{code}");
        let acts = actions(&mut s);
        assert!(acts.contains(&Action::Error(SessionError::Terminal {
            code,
            reason: "nope".into()
        })));
        assert_eq!(s.poll_timeout(), None);
    }
}

#[test]
fn heartbeat_deadline_reconnects() {
    let mut clock = Clock::new();
    let cfg = SessionConfig {
        heartbeat_timeout: Some(Duration::from_secs(10)),
        ..config()
    };
    let (mut s, socket) = open_session(cfg, &clock);
    // Inbound traffic pushes the deadline.
    clock.advance(Duration::from_secs(8));
    s.on_inbound(socket, Some(&ServerFrame::Ping), clock.now());
    clock.advance(Duration::from_secs(8));
    s.handle_timeout(clock.now());
    assert_eq!(s.state(), ConnectionState::Open);
    // Silence past the deadline.
    let at = s.poll_timeout().unwrap();
    clock.set(at);
    s.handle_timeout(clock.now());
    assert_eq!(s.state(), ConnectionState::Reconnecting);
    let acts = actions(&mut s);
    assert!(acts.contains(&Action::Close {
        socket,
        code: CloseCode::HeartbeatTimeout,
        reason: "heartbeat timeout"
    }));
    assert_eq!(s.stats().heartbeat_timeouts, 1);
}

#[test]
fn a_ping_is_answered_with_a_pong() {
    let clock = Clock::new();
    let (mut s, socket) = open_session(config(), &clock);
    s.on_inbound(socket, Some(&ServerFrame::Ping), clock.now());
    assert_eq!(transmits(&mut s), vec![ClientFrame::Pong]);
}

#[test]
fn visible_or_online_attempts_at_once_when_dead() {
    for trigger in ["visible", "online"] {
        let mut clock = Clock::new();
        let (mut s, socket) = open_session(config(), &clock);
        for _ in 0..6 {
            drop_and_retry(&mut s, &mut clock);
        }
        let socket2 = s.socket().unwrap();
        assert_ne!(socket, socket2);
        s.on_close(socket2, CloseCode::Abnormal, "", clock.now());
        actions(&mut s);
        match trigger {
            "visible" => s.set_visible(true, clock.now()),
            _ => s.set_online(true, clock.now()),
        }
        assert_eq!(s.state(), ConnectionState::Connecting, "{trigger}");
        assert_eq!(connects(&actions(&mut s)).len(), 1, "{trigger}");
        // Hidden/offline does nothing by itself.
        s.set_visible(false, clock.now());
        s.set_online(false, clock.now());
        assert!(actions(&mut s).is_empty());
    }
}

#[test]
fn visible_after_a_throttled_sleep_detects_the_dead_socket_by_wall_clock() {
    let mut clock = Clock::new();
    let cfg = SessionConfig {
        heartbeat_timeout: Some(Duration::from_secs(30)),
        ..config()
    };
    let (mut s, _) = open_session(cfg, &clock);
    // The tab slept for 5 minutes; no timer fired. It becomes visible.
    clock.advance(Duration::from_secs(300));
    s.set_visible(true, clock.now());
    let acts = actions(&mut s);
    assert_eq!(s.state(), ConnectionState::Connecting);
    assert_eq!(connects(&acts).len(), 1, "{acts:?}");
}

#[test]
fn visible_with_a_live_socket_does_nothing() {
    let clock = Clock::new();
    let (mut s, _) = open_session(config(), &clock);
    s.set_visible(true, clock.now());
    s.set_online(true, clock.now());
    assert!(actions(&mut s).is_empty());
    assert_eq!(s.state(), ConnectionState::Open);
}

#[test]
fn resubscribes_live_channels_with_their_position_after_reconnect() {
    let mut clock = Clock::new();
    let (mut s, socket) = open_session(config(), &clock);
    s.subscribe("a");
    s.subscribe("b");
    let sent = transmits(&mut s);
    assert_eq!(sent.len(), 2);
    let msg =
        ServerFrame::parse(r#"{"type":"message","channel":"a","offset":7,"epoch":"e1","data":1}"#)
            .unwrap();
    assert!(s.on_inbound(socket, Some(&msg), clock.now()));
    s.unsubscribe("b");
    assert!(matches!(
        transmits(&mut s)[..],
        [ClientFrame::Unsubscribe { .. }]
    ));
    let (_, next) = drop_and_retry(&mut s, &mut clock);
    assert!(transmits(&mut s).is_empty(), "nothing is sent before open");
    s.on_open(next, clock.now());
    let sent = transmits(&mut s);
    assert_eq!(sent.len(), 1, "{sent:?}");
    match &sent[0] {
        ClientFrame::Subscribe {
            channel, resume, ..
        } => {
            assert_eq!(channel, "a");
            assert_eq!(
                resume,
                &Some(Position {
                    offset: 7,
                    epoch: "e1".into()
                })
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn expired_subscription_is_taken_back() {
    let clock = Clock::new();
    let (mut s, socket) = open_session(config(), &clock);
    s.subscribe("a");
    transmits(&mut s);
    let expired = ServerFrame::Unsubscribed {
        channel: "a".into(),
        reason: UnsubscribeReason::Expired,
    };
    s.on_inbound(socket, Some(&expired), clock.now());
    assert!(matches!(
        transmits(&mut s)[..],
        [ClientFrame::Subscribe { .. }]
    ));
}

#[test]
fn max_attempts_gives_up_and_is_off_by_default() {
    let mut clock = Clock::new();
    assert_eq!(SessionConfig::default().max_attempts, None);
    let cfg = SessionConfig {
        max_attempts: Some(3),
        ..config()
    };
    let (mut s, _) = open_session(cfg, &clock);
    for _ in 0..3 {
        drop_and_retry(&mut s, &mut clock);
    }
    let socket = s.socket().unwrap();
    s.on_close(socket, CloseCode::Abnormal, "", clock.now());
    assert_eq!(s.state(), ConnectionState::Closed);
    assert!(actions(&mut s).contains(&Action::Error(SessionError::GaveUp(3))));

    // Unlimited by default: 200 drops, 200 retries.
    let (mut s, _) = open_session(config(), &clock);
    for _ in 0..200 {
        drop_and_retry(&mut s, &mut clock);
    }
    assert_eq!(s.stats().reconnects, 200);
}

#[test]
fn connect_timeout_counts_as_a_failed_attempt() {
    let clock = Clock::new();
    let mut s = Session::new(config(), 1);
    s.open(clock.now());
    actions(&mut s);
    let at = s.poll_timeout().unwrap();
    s.handle_timeout(at);
    assert_eq!(s.state(), ConnectionState::Reconnecting);
    assert!(actions(&mut s).contains(&Action::Release(SocketId(1))));
}

fn outbox(policy: OverflowPolicy) -> Session {
    let clock = Clock::new();
    let mut s = Session::new(
        SessionConfig {
            outbox_capacity: 2,
            outbox_policy: policy,
            ..config()
        },
        1,
    );
    s.open(clock.now());
    actions(&mut s);
    s
}

fn payload(n: u32) -> Payload {
    Payload::from_json(&n.to_string()).unwrap()
}

#[test]
fn outbox_reject_refuses_when_full() {
    let mut s = outbox(OverflowPolicy::Reject);
    s.publish("c", payload(1)).unwrap();
    s.publish("c", payload(2)).unwrap();
    assert_eq!(s.publish("c", payload(3)), Err(SendError::QueueFull));
    assert_eq!(s.outbox_len(), 2);
    assert_eq!(s.stats().dropped_sends, 1);
}

#[test]
fn outbox_drop_oldest_evicts_and_reports() {
    let mut s = outbox(OverflowPolicy::DropOldest);
    let first = s.publish("c", payload(1)).unwrap();
    s.publish("c", payload(2)).unwrap();
    s.publish("c", payload(3)).unwrap();
    assert_eq!(s.outbox_len(), 2);
    assert_eq!(s.stats().dropped_sends, 1);
    assert!(actions(&mut s).contains(&Action::SendFailed {
        id: first,
        error: SendError::QueueFull
    }));
    // What is left goes out in order once open.
    let socket = s.socket().unwrap();
    s.on_open(socket, Instant::now());
    let sent: Vec<String> = transmits(&mut s)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Publish { data, .. } => Some(data.as_value().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec!["2", "3"]);
}

#[test]
fn outbox_drop_newest_keeps_the_first() {
    let mut s = outbox(OverflowPolicy::DropNewest);
    s.publish("c", payload(1)).unwrap();
    s.publish("c", payload(2)).unwrap();
    assert_eq!(s.publish("c", payload(3)), Err(SendError::QueueFull));
    assert_eq!(s.outbox_len(), 2);
    assert_eq!(s.stats().dropped_sends, 1);
}

#[test]
fn refused_subscribe_is_not_retried_on_reconnect() {
    let mut clock = Clock::new();
    let (mut s, _) = open_session(config(), &clock);
    let id = s.subscribe("bad").unwrap();
    transmits(&mut s);
    assert_eq!(s.refused(id), Some("bad".to_owned()));
    let (_, next) = drop_and_retry(&mut s, &mut clock);
    s.on_open(next, clock.now());
    assert!(transmits(&mut s).is_empty());
}

#[test]
fn reconnect_now_replaces_the_socket_once() {
    let clock = Clock::new();
    let (mut s, socket) = open_session(config(), &clock);
    s.reconnect_now(clock.now());
    let acts = actions(&mut s);
    assert_eq!(connects(&acts).len(), 1);
    assert!(acts.contains(&Action::Release(socket)));
    assert_eq!(s.state(), ConnectionState::Connecting);
}

#[test]
fn subscriptions_with_a_ttl_are_refreshed_at_half_the_ttl_without_resume() {
    let mut clock = Clock::new();
    let cfg = SessionConfig {
        heartbeat_timeout: None,
        ..config()
    };
    let (mut s, socket) = open_session(cfg, &clock);
    let id = s.subscribe("a").unwrap();
    transmits(&mut s);
    let subscribed = ServerFrame::Subscribed {
        id,
        channel: "a".into(),
        position: Position {
            offset: 4,
            epoch: "e".into(),
        },
        ttl_secs: 60,
    };
    s.on_inbound(socket, Some(&subscribed), clock.now());
    assert_eq!(
        s.poll_timeout(),
        Some(clock.now() + Duration::from_secs(30))
    );
    clock.advance(Duration::from_secs(29));
    s.handle_timeout(clock.now());
    assert!(transmits(&mut s).is_empty(), "not yet");
    clock.advance(Duration::from_secs(1));
    s.handle_timeout(clock.now());
    match &transmits(&mut s)[..] {
        [ClientFrame::Subscribe {
            channel, resume, ..
        }] => {
            assert_eq!(channel, "a");
            assert_eq!(resume, &None, "a refresh asks for no replay");
        }
        other => panic!("{other:?}"),
    }
    // Until the gateway answers, no second refresh.
    clock.advance(Duration::from_secs(60));
    s.handle_timeout(clock.now());
    assert!(transmits(&mut s).is_empty());
    assert_eq!(s.state(), ConnectionState::Open);
}
