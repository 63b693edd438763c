//! Persistence shared by the stateful services: connecting to PostgreSQL or
//! SQLite with one schema per service, the transactional outbox and its relay,
//! bus consumers' cursors ([`cursors`]),
//! idempotency records and their expiry ([`expiry`]), and the skeleton every
//! write follows ([`write`]).
//!
//! A write is one transaction that checks the rules, writes its rows, stages
//! its events in the outbox (and records the idempotent response), commits,
//! and only then wakes the relay, which publishes to the bus and deletes what
//! the bus acknowledged. A restarted service publishes what it had not.

pub mod connect;
pub mod cursors;
pub mod expiry;
pub mod idempotency;
pub mod journal;
pub mod migration;
pub mod outbox;
pub mod write;

pub use connect::connect;
pub use outbox::Outbox;
pub use write::{Begun, Write, Writes};

use sea_orm::DbErr;
use talk_types::ApiError;

/// Maps a database error to the caller's error, logging it once here.
pub fn db_error(e: DbErr) -> ApiError {
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::unavailable("database")
        }
        other => {
            tracing::error!(error = %other, "database error");
            ApiError::internal()
        }
    }
}
