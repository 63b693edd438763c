//! Cross-cutting request handling: `X-Request-Id`, the request span (parented
//! on an incoming `traceparent`), per-route metrics, VoIPBIN error bodies, and
//! the `Idempotency-Key` → [`WriteOptions`] bridge.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use talk_proto::WriteOptions;
use talk_types::{ApiError, Reason};
use talk_wire::ErrorResponse;
use tracing::Instrument;

use crate::error::{
    HttpError, PendingError, for_bare_status, is_voipbin_path, payload_too_large, status_of,
    voipbin_status,
};

/// `X-Request-Id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `Idempotency-Key`.
pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The largest request body in bytes.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// The request id of the current request (a request extension).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Echoes a valid incoming id (1–64 of `[A-Za-z0-9_-]`), else makes `req_` + 26 base32 chars.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(generate_request_id)
}

/// `req_` + a ULID-like 26-character Crockford base32 string (time, then randomness).
pub fn generate_request_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = u128::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    let mut value = millis << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (72 - 8 * i);
    }
    let mut out = String::with_capacity(30);
    out.push_str("req_");
    for i in (0..26).rev() {
        let index = ((value >> (5 * i)) & 0x1f) as usize;
        out.push(char::from(ALPHABET[index]));
    }
    out
}

/// The outermost middleware: request id, span, metrics and error bodies.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let id = request_id(request.headers());
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let voipbin = is_voipbin_path(request.uri().path());
    let span = tracing::info_span!(
        "http",
        http.method = %method,
        http.route = %route,
        request_id = %id,
        http.status = tracing::field::Empty,
    );
    if let Some(traceparent) = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        talk_telemetry::propagation::set_parent(&span, traceparent);
    }
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let mut response = render_error(response, &id, voipbin);
    let status = response.status().as_u16();
    span.record("http.status", status);
    talk_telemetry::metrics::HTTP_REQUESTS
        .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
        .inc();
    talk_telemetry::metrics::HTTP_LATENCY
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// Gives every error response VoIPBIN's JSON body carrying the request id —
/// on VoIPBIN's paths (`voipbin`) with a status of VoIPBIN's enum, whoever
/// made the error (a handler, an extractor, the body limit, the router).
fn render_error(response: Response, request_id: &str, voipbin: bool) -> Response {
    let status = response.status();
    let pending = response.extensions().get::<PendingError>().cloned();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (error, status) = match pending {
        // Logged where it happened (see `crate::error`).
        Some(PendingError(error)) => {
            let status = status_of(&error);
            (error, status)
        }
        None if status.is_client_error() || status.is_server_error() => {
            if is_json {
                return response;
            }
            let error = for_bare_status(status);
            if status.is_server_error() {
                // The edge's own layers (a timeout): nobody else logged it.
                tracing::warn!(status = status.as_u16(), reason = %error.reason, request_id, "request failed");
            }
            (error, status)
        }
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts.extensions.remove::<PendingError>();
    let mut body = ErrorResponse::new(&error, request_id);
    if voipbin {
        body.error.status = voipbin_status(error.kind);
    }
    let body = serde_json::to_vec(&body).unwrap_or_default();
    parts.status = status;
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(body))
}

/// For mutating requests with an `Idempotency-Key`: checks the key, hashes
/// method, path and body, and leaves a [`WriteOptions`] in the extensions.
pub async fn idempotency(
    State(BodyLimit(limit)): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let mutating = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    if !mutating {
        return next.run(request).await;
    }
    let key = match key.to_str() {
        Ok(key)
            if !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_KEY
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            key.to_owned()
        }
        _ => {
            return HttpError(ApiError::of(
                Reason::InvalidIdempotencyKey,
                format!(
                    "The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters."
                ),
            ))
            .into_response();
        }
    };
    let (mut parts, body) = request.into_parts();
    if crate::routes::files::is_upload(&parts.method, parts.uri.path()) {
        // An upload streams: its key stands for the request, whose body is
        // never read whole (a retry replays the first answer unread).
        let mut hasher = Sha256::new();
        hasher.update(b"POST ");
        hasher.update(parts.uri.path().as_bytes());
        parts.extensions.insert(WriteOptions {
            idempotency_key: key,
            request_hash: hex::encode(hasher.finalize()),
        });
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return HttpError(payload_too_large()).into_response(),
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    parts.extensions.insert(WriteOptions {
        idempotency_key: key,
        request_hash: hex::encode(hasher.finalize()),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `405` for a known path with another method (rendered into the error body).
pub async fn method_not_allowed() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

/// `404` for an unknown path (rendered into the error body).
pub async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}
