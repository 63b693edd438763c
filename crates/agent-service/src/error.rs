//! Why agent-service could not start.

use sea_orm::DbErr;
use talk_types::ApiError;

/// A start-up failure of agent-service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `jwt_secret` was empty: tokens could be forged.
    #[error("agent-service needs a non-empty jwt_secret")]
    MissingJwtSecret,
    /// The database could not be reached.
    #[error("agent database unavailable: {0}")]
    Connect(#[source] DbErr),
    /// A migration failed.
    #[error("agent database migration failed: {0}")]
    Migrate(#[source] DbErr),
    /// Creating the default customer and admin failed.
    #[error("bootstrap of the admin agent failed: {0}")]
    Bootstrap(#[source] ApiError),
    /// The server stopped with an I/O error.
    #[error("agent-service server failed: {0}")]
    Serve(#[from] std::io::Error),
}
