//! Errors as HTTP responses: VoIPBIN's body `{"error": {status, reason,
//! message, request_id}}` with the error's HTTP status.
//!
//! A handler's [`HttpError`] does not know the request id, so its response
//! carries the [`ApiError`] as an extension with an empty body; the request
//! middleware (`crate::middleware`) renders the body once it knows the id.
//! Responses that axum or tower-http produce themselves (404, 405, 413, a
//! timeout) are turned into the same body there.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use talk_types::{ApiError, ErrorKind, Reason};

/// A handler error: an [`ApiError`] that renders as VoIPBIN's error body.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(value: ApiError) -> Self {
        Self(value)
    }
}

/// A failure is logged once, where it happens: a service logs its own (a
/// database error in `talk_store::db_error`, …), so a status a Talk service
/// answered is not logged again here. Only a status the transport made (the
/// service could not be reached, or died mid-call) is, as nobody else saw it.
impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        let error = ApiError::from_status(&status);
        let server_error = matches!(error.kind, ErrorKind::Internal | ErrorKind::Unavailable);
        if server_error && !talk_types::error::answered_by_talk(&status) {
            tracing::warn!(code = ?status.code(), error = %status.message(), "internal call failed");
        }
        Self(error)
    }
}

/// A 500 for what cannot happen (an answer missing what it always carries),
/// logged here since nobody else saw it.
pub fn broken(what: &'static str) -> HttpError {
    tracing::error!(what, "broken invariant");
    HttpError(ApiError::internal())
}

/// The [`ApiError`] behind an error response, waiting for its request id.
#[derive(Clone, Debug)]
pub struct PendingError(pub ApiError);

/// The HTTP status of an error kind.
pub fn status_of(error: &ApiError) -> StatusCode {
    StatusCode::from_u16(error.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = status_of(&self.0).into_response();
        response.extensions_mut().insert(PendingError(self.0));
        response
    }
}

/// The error for a response that left the router without a JSON body
/// (axum's own 404/405, tower-http's 413 or timeout).
pub fn for_bare_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::of(
            Reason::RouteNotFound,
            "The requested endpoint does not exist.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::of(
            Reason::MethodNotAllowed,
            "The endpoint does not support this method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::of(
            Reason::RequestTimeout,
            "The request took too long; retry later.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::of(
            Reason::InvalidJsonBody,
            "The request body must be JSON (Content-Type: application/json).",
        ),
        other if other.is_client_error() => {
            ApiError::of(Reason::InvalidArgument, "The request is invalid.")
        }
        _ => ApiError::internal(),
    }
}

/// 413: the body is over the configured limit.
pub fn payload_too_large() -> ApiError {
    ApiError::of(Reason::PayloadTooLarge, "The request body is too large.")
}
