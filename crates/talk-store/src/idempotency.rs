//! Idempotency records: a retried write with the same `Idempotency-Key`
//! returns the first response; the same key with another request is a 422.
//!
//! The record is claimed first in the write's own transaction, so two
//! concurrent requests with one key serialise on its primary key: the second
//! waits, fails to insert, and replays the first's committed response.

use prost::Message;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseTransaction, Set};
use talk_proto::WriteOptions;
use talk_types::{ApiError, ErrorKind, time};

use crate::db_error;

/// The `idempotency` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One idempotent request and its response.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency")]
    pub struct Model {
        /// Who sent it and to which operation (`<agent>:<operation>`).
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        /// The client's key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Hash of the public request.
        pub request_hash: String,
        /// The encoded response, once the first request committed.
        pub response: Option<Vec<u8>>,
        /// When it was first seen.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim<T> {
    /// No key, or a new key: do the write.
    Fresh,
    /// A retry: return this response and write nothing.
    Replay(T),
}

/// Claims `options`' key in `txn`. On [`Claim::Replay`], drop `txn`.
///
/// `ON CONFLICT DO NOTHING` waits for a concurrent claim of the same key to
/// commit or roll back, and a read-committed statement after it sees the
/// winner's row, so the existing record is read through `txn` itself.
pub async fn claim<T: Message + Default>(
    txn: &DatabaseTransaction,
    scope: &str,
    options: Option<&WriteOptions>,
) -> Result<Claim<T>, ApiError> {
    let Some(options) = options.filter(|o| !o.idempotency_key.is_empty()) else {
        return Ok(Claim::Fresh);
    };
    let row = entity::ActiveModel {
        scope: Set(scope.to_owned()),
        key: Set(options.idempotency_key.clone()),
        request_hash: Set(options.request_hash.clone()),
        response: Set(None),
        created_at: Set(time::now()),
    };
    let inserted = entity::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await;
    match inserted {
        Ok(sea_orm::TryInsertResult::Inserted(n)) if n > 0 => return Ok(Claim::Fresh),
        Ok(_) => {}
        Err(e) => return Err(db_error(e)),
    }
    let existing = entity::Entity::find_by_id((scope.to_owned(), options.idempotency_key.clone()))
        .one(txn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| {
            conflict("The first request with this Idempotency-Key is still in progress.")
        })?;
    if existing.request_hash != options.request_hash {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was already used with a different request.",
        ));
    }
    let bytes = existing.response.ok_or_else(|| {
        conflict("The first request with this Idempotency-Key is still in progress.")
    })?;
    T::decode(bytes.as_slice())
        .map(Claim::Replay)
        .map_err(|_| ApiError::internal())
}

fn conflict(message: &str) -> ApiError {
    ApiError::conflict("IDEMPOTENCY_KEY_IN_PROGRESS", message)
}

/// Records the response of a fresh claim, in the same transaction.
pub async fn complete<T: Message>(
    txn: &DatabaseTransaction,
    scope: &str,
    options: Option<&WriteOptions>,
    response: &T,
) -> Result<(), ApiError> {
    let Some(options) = options.filter(|o| !o.idempotency_key.is_empty()) else {
        return Ok(());
    };
    entity::Entity::update_many()
        .col_expr(
            entity::Column::Response,
            Expr::value(response.encode_to_vec()),
        )
        .filter(entity::Column::Scope.eq(scope))
        .filter(entity::Column::Key.eq(options.idempotency_key.as_str()))
        .exec(txn)
        .await
        .map_err(db_error)?;
    Ok(())
}
