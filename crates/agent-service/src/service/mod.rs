//! Agent-service's rules: login, agent management, resolution, bootstrap.

pub mod bootstrap;
mod login;
mod manage;
pub mod password;
mod read;
mod tokens;
pub mod validate;

use sea_orm::{DatabaseConnection, DbErr, SqlErr};
use talk_auth::Tokens;
use talk_store::Writes;
use talk_types::{ApiError, Reason};

pub use manage::{AgentUpdate, NewAgent};
pub use read::Page;
pub use talk_auth::Caller;

/// The service state shared by every handler.
#[derive(Clone)]
pub struct Agents {
    db: DatabaseConnection,
    writes: Writes,
    tokens: Tokens,
}

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agents").finish_non_exhaustive()
    }
}

impl Agents {
    /// Agents stored in `db`, issuing tokens with `tokens`.
    pub fn new(db: DatabaseConnection, tokens: Tokens) -> Self {
        Self {
            writes: Writes::silent(db.clone()),
            db,
            tokens,
        }
    }
}

/// 404 AGENT_NOT_FOUND.
fn not_found() -> ApiError {
    ApiError::from(Reason::AgentNotFound)
}

/// Whether a database error is a unique violation.
fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
