//! Why webhook-service could not start, and the reason codes it answers with.

use std::borrow::Cow;

use sea_orm::DbErr;
use talk_types::{ApiError, ErrorKind};

/// A start-up failure of webhook-service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached.
    #[error("webhook database unavailable: {0}")]
    Connect(#[source] DbErr),
    /// A migration failed.
    #[error("webhook database migration failed: {0}")]
    Migrate(#[source] DbErr),
    /// The TLS configuration for deliveries could not be built.
    #[error("webhook TLS client: {0}")]
    Tls(#[from] rustls::Error),
    /// The addresses of agent- or talk-service are not usable.
    #[error("webhook-service cannot reach the other services: {0}")]
    Directory(talk_types::ApiError),
    /// The server stopped with an I/O error.
    #[error("webhook-service server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// The reasons only webhook-service gives (the shared ones are
/// [`talk_types::Reason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// 404: no such endpoint of the caller's customer.
    WebhookNotFound,
    /// 400: the URL is not one Talk delivers to.
    InvalidWebhookUrl,
    /// 400: an event type no event has.
    InvalidEventType,
    /// 400: the customer has as many endpoints as it may.
    TooManyWebhooks,
    /// 400: a replay names neither a position nor a time, or one Talk no longer keeps.
    InvalidReplay,
}

impl Problem {
    fn kind(self) -> ErrorKind {
        match self {
            Self::WebhookNotFound => ErrorKind::NotFound,
            Self::InvalidWebhookUrl
            | Self::InvalidEventType
            | Self::TooManyWebhooks
            | Self::InvalidReplay => ErrorKind::InvalidArgument,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::WebhookNotFound => "WEBHOOK_NOT_FOUND",
            Self::InvalidWebhookUrl => "INVALID_WEBHOOK_URL",
            Self::InvalidEventType => "INVALID_EVENT_TYPE",
            Self::TooManyWebhooks => "TOO_MANY_WEBHOOKS",
            Self::InvalidReplay => "INVALID_REPLAY",
        }
    }

    /// The error, with a sentence that says what is wrong.
    pub fn with(self, message: impl Into<String>) -> ApiError {
        ApiError {
            kind: self.kind(),
            reason: Cow::Borrowed(self.code()),
            message: message.into(),
        }
    }

    /// 404 for an endpoint that is not there (or is another customer's).
    pub fn not_found() -> ApiError {
        Self::WebhookNotFound.with("No webhook with this id.")
    }
}

/// A database failure as the caller sees it: 500, logged once here.
pub fn db(e: DbErr) -> ApiError {
    tracing::error!(error = %e, "webhook database failed");
    ApiError::internal()
}
