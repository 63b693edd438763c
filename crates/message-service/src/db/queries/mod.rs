//! Every query message-service runs, one file per area, scoped by customer
//! wherever a customer's data is read.

pub mod append;
pub mod consumer;
pub mod counters;
pub mod edits;
pub mod mentions;
pub mod messages;
pub mod reactions;
pub mod read_states;
pub mod search;

use sea_orm::{ConnectionTrait, DatabaseBackend, QuerySelect, Select};

/// Adds `FOR UPDATE` on PostgreSQL (SQLite serialises writers anyway).
pub(crate) fn for_update<C: ConnectionTrait, E: sea_orm::EntityTrait>(
    db: &C,
    query: Select<E>,
) -> Select<E> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        query.lock_exclusive()
    } else {
        query
    }
}

/// The `n`th (1-based) positional placeholder of `backend`.
pub(crate) fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}
