//! Agent-service's rules: login, agent management, resolution, bootstrap,
//! access keys.

mod access_keys;
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

pub use access_keys::{KeyPage, NewAccessKey};
pub use login::{Session, purge_refresh_tokens};
pub use manage::{AgentUpdate, NewAgent};
pub use read::Page;
pub use talk_auth::Caller;

/// The service state shared by every handler.
#[derive(Clone)]
pub struct Agents {
    db: DatabaseConnection,
    writes: Writes,
    tokens: Tokens,
    /// How long a refresh token works.
    refresh_ttl: chrono::Duration,
}

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agents").finish_non_exhaustive()
    }
}

impl Agents {
    /// Agents stored in `db`, issuing access tokens with `tokens` and
    /// refresh tokens that work for `refresh_ttl_secs`.
    pub fn new(db: DatabaseConnection, tokens: Tokens, refresh_ttl_secs: u64) -> Self {
        Self {
            writes: Writes::silent(db.clone()),
            db,
            tokens,
            refresh_ttl: chrono::Duration::seconds(
                i64::try_from(refresh_ttl_secs).unwrap_or(i64::MAX / 2_000),
            ),
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
