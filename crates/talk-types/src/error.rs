//! One error vocabulary: every error Talk reports has a kind that knows its
//! HTTP status, its gRPC code and VoIPBIN's `status` string, plus a `reason`
//! code and a message safe to show to the caller.

use std::borrow::Cow;

use tonic::metadata::MetadataValue;

use crate::Reason;

/// The class of an error; decides the HTTP status, the gRPC code and VoIPBIN's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is malformed or breaks a rule.
    InvalidArgument,
    /// 401: no or bad credentials.
    Unauthenticated,
    /// 403: authenticated, but not allowed.
    PermissionDenied,
    /// 404: nothing there (or not visible to the caller).
    NotFound,
    /// 409: it exists already.
    AlreadyExists,
    /// 409: the resource is in a state that forbids the change (a closed talk).
    FailedPrecondition,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 422: the request is well formed but cannot be processed (idempotency key reused).
    Unprocessable,
    /// 429: too many requests.
    ResourceExhausted,
    /// 503: a dependency is down; retry later.
    Unavailable,
    /// 500: a bug or an unexpected failure; the message never echoes internals.
    Internal,
}

impl ErrorKind {
    /// The HTTP status code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthenticated => 401,
            Self::PermissionDenied => 403,
            Self::NotFound => 404,
            Self::AlreadyExists | Self::FailedPrecondition => 409,
            Self::PayloadTooLarge => 413,
            Self::Unprocessable => 422,
            Self::ResourceExhausted => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// VoIPBIN's `error.status` string.
    pub fn status(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Unprocessable => "UNPROCESSABLE_ENTITY",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
        }
    }

    /// The gRPC code used between services.
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument => tonic::Code::InvalidArgument,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::PermissionDenied => tonic::Code::PermissionDenied,
            Self::NotFound => tonic::Code::NotFound,
            Self::AlreadyExists => tonic::Code::AlreadyExists,
            Self::FailedPrecondition => tonic::Code::FailedPrecondition,
            Self::PayloadTooLarge => tonic::Code::OutOfRange,
            Self::Unprocessable => tonic::Code::Aborted,
            Self::ResourceExhausted => tonic::Code::ResourceExhausted,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::Internal => tonic::Code::Internal,
        }
    }

    /// The kind [`ErrorKind::status`] names.
    pub fn from_status_str(value: &str) -> Option<Self> {
        Some(match value {
            "INVALID_ARGUMENT" => Self::InvalidArgument,
            "UNAUTHENTICATED" => Self::Unauthenticated,
            "PERMISSION_DENIED" => Self::PermissionDenied,
            "NOT_FOUND" => Self::NotFound,
            "ALREADY_EXISTS" => Self::AlreadyExists,
            "FAILED_PRECONDITION" => Self::FailedPrecondition,
            "PAYLOAD_TOO_LARGE" => Self::PayloadTooLarge,
            "UNPROCESSABLE_ENTITY" => Self::Unprocessable,
            "RESOURCE_EXHAUSTED" => Self::ResourceExhausted,
            "UNAVAILABLE" => Self::Unavailable,
            "INTERNAL" => Self::Internal,
            _ => return None,
        })
    }

    fn from_grpc_code(code: tonic::Code) -> Self {
        match code {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => Self::InvalidArgument,
            tonic::Code::Unauthenticated => Self::Unauthenticated,
            tonic::Code::PermissionDenied => Self::PermissionDenied,
            tonic::Code::NotFound => Self::NotFound,
            tonic::Code::AlreadyExists => Self::AlreadyExists,
            tonic::Code::FailedPrecondition | tonic::Code::Aborted => Self::FailedPrecondition,
            tonic::Code::ResourceExhausted => Self::ResourceExhausted,
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                Self::Unavailable
            }
            tonic::Code::Ok
            | tonic::Code::Unknown
            | tonic::Code::Unimplemented
            | tonic::Code::Internal
            | tonic::Code::DataLoss => Self::Internal,
        }
    }

    fn default_reason(self) -> &'static str {
        match self {
            Self::Unauthenticated => "AUTHENTICATION_REQUIRED",
            Self::Internal => "INTERNAL",
            other => other.status(),
        }
    }
}

/// An error as the caller sees it: kind, reason code and message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {message}", kind.status(), reason)]
pub struct ApiError {
    /// The class of error.
    pub kind: ErrorKind,
    /// An UPPER_SNAKE reason code (`INVALID_ID`, `TALK_CLOSED`, ...).
    pub reason: Cow<'static, str>,
    /// A sentence that says what is wrong; never internal details.
    pub message: String,
}

const REASON_KEY: &str = "talk-reason";
const STATUS_KEY: &str = "talk-status";

/// Whether a Talk service answered `status` ([`ApiError::into_status`]), as
/// opposed to the transport (unreachable, reset): a service logs its own
/// failures, the transport's are nobody's yet.
pub fn answered_by_talk(status: &tonic::Status) -> bool {
    status.metadata().get(STATUS_KEY).is_some()
}

impl ApiError {
    /// The error `reason` names, with a sentence that says what is wrong.
    pub fn of(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            kind: reason.kind(),
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// 400 INVALID_ID for a field that is not a UUID.
    pub fn invalid_id(field: &str) -> Self {
        Self::of(
            Reason::InvalidId,
            format!("The provided {field} is not a valid UUID."),
        )
    }

    /// 400 INVALID_JSON_BODY.
    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::of(
            Reason::InvalidJsonBody,
            format!("The request body is not valid JSON: {detail}"),
        )
    }

    /// 401 AUTHENTICATION_REQUIRED.
    pub fn unauthenticated() -> Self {
        Reason::AuthenticationRequired.into()
    }

    /// 401 INVALID_CREDENTIALS.
    pub fn invalid_credentials() -> Self {
        Reason::InvalidCredentials.into()
    }

    /// 403 PERMISSION_DENIED.
    pub fn permission_denied() -> Self {
        Reason::PermissionDenied.into()
    }

    /// 500 INTERNAL; the detail is for logs, never for the caller.
    pub fn internal() -> Self {
        Reason::Internal.into()
    }

    /// 503 SERVICE_UNAVAILABLE.
    pub fn unavailable(what: &str) -> Self {
        Self::of(
            Reason::ServiceUnavailable,
            format!("The {what} is unavailable; retry later."),
        )
    }

    /// Into a gRPC status that carries the kind and reason in metadata.
    pub fn into_status(self) -> tonic::Status {
        let mut status = tonic::Status::new(self.kind.grpc_code(), self.message);
        if let Ok(value) = MetadataValue::try_from(self.reason.as_ref()) {
            status.metadata_mut().insert(REASON_KEY, value);
        }
        status
            .metadata_mut()
            .insert(STATUS_KEY, MetadataValue::from_static(self.kind.status()));
        status
    }

    /// From a gRPC status; a status from another server (or the transport) maps by code.
    pub fn from_status(status: &tonic::Status) -> Self {
        let meta = status.metadata();
        let kind = meta
            .get(STATUS_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(ErrorKind::from_status_str)
            .unwrap_or_else(|| ErrorKind::from_grpc_code(status.code()));
        match kind {
            ErrorKind::Internal => return Self::internal(),
            ErrorKind::Unavailable if meta.get(REASON_KEY).is_none() => {
                return Self::unavailable("service");
            }
            _ => {}
        }
        let reason = meta
            .get(REASON_KEY)
            .and_then(|v| v.to_str().ok())
            .map(|r| Cow::Owned(r.to_owned()))
            .unwrap_or(Cow::Borrowed(kind.default_reason()));
        Self {
            kind,
            reason,
            message: status.message().to_owned(),
        }
    }
}

impl From<ApiError> for talk_proto::Refusal {
    /// A refusal one service answers another inside a reply (an access
    /// check's answer for one of many callers).
    fn from(error: ApiError) -> Self {
        Self {
            kind: error.kind.status().to_owned(),
            reason: error.reason.into_owned(),
            message: error.message,
        }
    }
}

impl From<talk_proto::Refusal> for ApiError {
    /// The error a refusal names; an internal or unknown kind is internal.
    fn from(refusal: talk_proto::Refusal) -> Self {
        match ErrorKind::from_status_str(&refusal.kind) {
            Some(ErrorKind::Internal) | None => Self::internal(),
            Some(kind) => Self {
                kind,
                reason: Cow::Owned(refusal.reason),
                message: refusal.message,
            },
        }
    }
}

impl From<Reason> for ApiError {
    /// The error with the reason's default sentence.
    fn from(reason: Reason) -> Self {
        Self::of(reason, reason.message())
    }
}

impl From<ApiError> for tonic::Status {
    fn from(value: ApiError) -> Self {
        value.into_status()
    }
}

impl From<tonic::Status> for ApiError {
    fn from(value: tonic::Status) -> Self {
        Self::from_status(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_grpc() {
        let err = ApiError::of(Reason::TalkClosed, "The talk is closed.");
        let back = ApiError::from_status(&err.clone().into_status());
        assert_eq!(back, err);
        let internal = ApiError::from_status(&tonic::Status::internal("db exploded at row 7"));
        assert_eq!(internal.message, "An internal error occurred.");
    }
}
