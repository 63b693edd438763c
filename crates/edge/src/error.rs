//! Errors as HTTP responses: VoIPBIN's body `{"error": {status, reason,
//! message, request_id}}` with the error's HTTP status.
//!
//! A handler's [`HttpError`] does not know the request id, so its response
//! carries the [`ApiError`] as an extension with an empty body; the request
//! middleware (`crate::middleware`) renders the body once it knows the id.
//! Responses that axum or tower-http produce themselves (404, 405, 413, a
//! timeout) are turned into the same body there.
//!
//! On VoIPBIN's own paths ([`is_voipbin_path`]) `error.status` stays within
//! VoIPBIN's enum ([`voipbin_status`]); the seed's paths keep Talk's richer set.

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

/// Whether `path` is one of VoIPBIN's own (`/v1.0/service_agents/…`,
/// `/auth/…`), whose clients know only VoIPBIN's `error.status` values.
pub fn is_voipbin_path(path: &str) -> bool {
    path.starts_with("/v1.0/service_agents/") || path.starts_with("/auth/")
}

/// `error.status` for `kind` in VoIPBIN's enum (INVALID_ARGUMENT,
/// UNAUTHENTICATED, PAYMENT_REQUIRED, PERMISSION_DENIED, NOT_FOUND,
/// ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, UNAVAILABLE,
/// INTERNAL): the kinds VoIPBIN lacks become the closest one it has, with
/// the HTTP status and `reason` unchanged. A body too large (413) is an
/// invalid request; an `Idempotency-Key` already used with another request
/// (422) conflicts with what the key has recorded, like any request the
/// state forbids.
pub fn voipbin_status(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::PayloadTooLarge => ErrorKind::InvalidArgument.status(),
        ErrorKind::Unprocessable => ErrorKind::FailedPrecondition.status(),
        ErrorKind::InvalidArgument
        | ErrorKind::Unauthenticated
        | ErrorKind::PermissionDenied
        | ErrorKind::NotFound
        | ErrorKind::AlreadyExists
        | ErrorKind::FailedPrecondition
        | ErrorKind::ResourceExhausted
        | ErrorKind::Unavailable
        | ErrorKind::Internal => kind.status(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// VoIPBIN's `error.status` enum (reference §2.7).
    const VOIPBIN: [&str; 10] = [
        "INVALID_ARGUMENT",
        "UNAUTHENTICATED",
        "PAYMENT_REQUIRED",
        "PERMISSION_DENIED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "INTERNAL",
    ];

    #[test]
    fn every_reason_has_a_voipbin_status_on_voipbin_paths() {
        for reason in Reason::ALL {
            let status = voipbin_status(reason.kind());
            assert!(VOIPBIN.contains(&status), "{reason:?} → {status}");
        }
        assert_eq!(
            voipbin_status(ErrorKind::PayloadTooLarge),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            voipbin_status(ErrorKind::Unprocessable),
            "FAILED_PRECONDITION"
        );
        assert_eq!(
            voipbin_status(ErrorKind::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
    }

    #[test]
    fn voipbin_paths_are_service_agents_and_auth() {
        assert!(is_voipbin_path("/v1.0/service_agents/talk_chats"));
        assert!(is_voipbin_path("/v1.0/service_agents/me"));
        assert!(is_voipbin_path("/auth/login"));
        assert!(!is_voipbin_path("/v1.0/talks"));
        assert!(!is_voipbin_path("/v1.0/auth/login"));
        assert!(!is_voipbin_path("/v1.0/service_agentsx"));
    }
}
