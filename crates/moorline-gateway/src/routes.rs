//! HTTP routes: the WebSocket upgrade, probes, metrics, stats and the publish API.

use crate::connection::{self, Admission};
use crate::hub::ChannelStats;
use crate::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use moorline_core::protocol::{validate_channel, ErrorCode, PROTOCOL_VERSION};
use moorline_core::CloseCode;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tracing::Instrument;

/// The gateway's router.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let router = Router::new()
        .route("/ws", get(ws_handler))
        .route("/metrics", get(metrics_handler))
        .route("/stats", get(stats_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz_handler))
        .route("/publish", post(publish_handler))
        .route("/admin/disconnect", post(disconnect_handler));
    let router = match &state.config.static_dir {
        Some(dir) => router.fallback_service(ServeDir::new(dir)),
        None => router,
    };
    router
        .layer(cors(state.config.cors_allow_origin.as_deref()))
        .with_state(state)
}

fn cors(origin: Option<&str>) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    match origin {
        None => CorsLayer::new(),
        Some("*") => layer.allow_origin(AllowOrigin::any()),
        Some(origin) => match HeaderValue::from_str(origin) {
            Ok(value) => layer.allow_origin(value),
            Err(_) => CorsLayer::new(),
        },
    }
}

/// Whether the request carries the configured API key. Without a key configured,
/// `required` decides: the publish API is then open, admin endpoints are closed.
fn authorized(state: &AppState, headers: &HeaderMap, required: bool) -> bool {
    match state.config.api_key.as_deref() {
        Some(key) => {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                == Some(key)
        }
        None => !required,
    }
}

/// `POST /admin/disconnect?code=N`: close every connection with `code` (default
/// 1012, service restart). Needs the API key; refused when none is configured.
async fn disconnect_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&state, &headers, true) {
        return error_response(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "admin endpoints need --api-key and its bearer token".into(),
        );
    }
    let code = query
        .get("code")
        .and_then(|c| c.parse::<u16>().ok())
        .map_or(CloseCode::ServiceRestart, CloseCode::from);
    let closed = state.close_all(code, "closed by an operator");
    tracing::info!(closed, code = code.as_u16(), "admin disconnect");
    Json(serde_json::json!({ "closed": closed })).into_response()
}

fn unavailable(reason: &'static str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        reason,
    )
        .into_response()
}

async fn ws_handler(
    upgrade: WebSocketUpgrade,
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        state.stats.refused.add("draining", 1);
        return unavailable("draining");
    }
    if !state.shedder.admit_connection() {
        // Upgrading would cost memory we do not have: refuse before it.
        state.stats.refused.add("memory_pressure", 1);
        return unavailable("overloaded");
    }
    let version_ok = query
        .get("v")
        .is_none_or(|v| v.parse::<u32>() == Ok(PROTOCOL_VERSION));
    let admission = if !version_ok {
        state.stats.refused.add("protocol_version", 1);
        Admission::Refuse(CloseCode::BadProtocol, "unsupported protocol version")
    } else if state.stats.connections.load(Ordering::Relaxed)
        >= i64::try_from(state.config.max_connections).unwrap_or(i64::MAX)
    {
        state.stats.refused.add("max_connections", 1);
        Admission::Refuse(CloseCode::Overloaded, "connection limit reached")
    } else {
        Admission::Accept
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
    // Frames a bit larger than the limit still get a clear error frame; far larger
    // ones are cut off by the socket layer with 1009.
    let hard_limit = state.config.max_frame_bytes.saturating_mul(4).max(1024);
    let span = tracing::info_span!("conn", id = conn);
    upgrade
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        // Small buffers keep an idle connection near 6.5 KiB (`cargo xtask bench`).
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            connection::serve(socket, state, conn, admission).instrument(span)
        })
        .into_response()
}

async fn readyz_handler(State(state): State<Arc<AppState>>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        unavailable("draining")
    } else {
        (StatusCode::OK, "ready").into_response()
    }
}

async fn metrics_handler(State(state): State<Arc<AppState>>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn stats_handler(
    Query(query): Query<HashMap<String, String>>,
    State(state): State<Arc<AppState>>,
) -> Response {
    let mut body = serde_json::to_value(state.stats.snapshot()).unwrap_or_default();
    if let (Some(name), Some(obj)) = (query.get("channel"), body.as_object_mut()) {
        let channel = state.hub.channel_stats(name).unwrap_or(ChannelStats {
            subscribers: 0,
            subscribes_total: 0,
            last_offset: 0,
        });
        obj.insert(
            "channel".into(),
            serde_json::to_value(channel).unwrap_or_default(),
        );
    }
    Json(body).into_response()
}

/// Body of `POST /publish`.
#[derive(Debug, serde::Deserialize)]
struct PublishBody {
    channel: String,
    data: serde_json::Value,
}

fn error_response(status: StatusCode, code: ErrorCode, message: String) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

async fn publish_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&state, &headers, false) {
        return error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden,
            "missing or wrong API key".into(),
        );
    }
    if body.len() > state.config.max_frame_bytes {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::FrameTooLarge,
            format!("the limit is {} bytes", state.config.max_frame_bytes),
        );
    }
    let body: PublishBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedFrame,
                err.to_string(),
            )
        }
    };
    if let Err(err) = validate_channel(&body.channel) {
        return error_response(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidChannel,
            err.to_string(),
        );
    }
    match state.hub.publish(&body.channel, body.data.into()) {
        Ok(offset) => Json(serde_json::json!({ "offset": offset })).into_response(),
        Err(shed) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Overloaded,
            shed.to_string(),
        ),
    }
}
