//! Refresh tokens: issue, find, use once, purge.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use talk_types::time::Timestamp;
use uuid::Uuid;

use crate::db::entities::refresh_token::{ActiveModel, Column, Entity, Model};

/// Stores a newly issued token.
pub async fn insert<C: ConnectionTrait>(db: &C, row: Model) -> Result<(), DbErr> {
    let active = ActiveModel {
        id: ActiveValue::Set(row.id),
        agent_id: ActiveValue::Set(row.agent_id),
        customer_id: ActiveValue::Set(row.customer_id),
        secret_hash: ActiveValue::Set(row.secret_hash),
        token_version: ActiveValue::Set(row.token_version),
        tm_create: ActiveValue::Set(row.tm_create),
        tm_expire: ActiveValue::Set(row.tm_expire),
        tm_used: ActiveValue::Set(row.tm_used),
    };
    Entity::insert(active).exec_without_returning(db).await?;
    Ok(())
}

/// The token with `id`, used or not.
pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Marks the token used unless it was already: true when this call used it
/// (of two concurrent uses, exactly one gets true).
pub async fn use_once<C: ConnectionTrait>(db: &C, id: Uuid, now: Timestamp) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::TmUsed, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::TmUsed.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Rows deleted per purge statement.
const PURGE_BATCH: u64 = 1_000;

/// Deletes up to [`PURGE_BATCH`] tokens expired by `now` or used before
/// `used_before`; how many were deleted.
pub async fn purge_batch<C: ConnectionTrait>(
    db: &C,
    now: Timestamp,
    used_before: Timestamp,
) -> Result<u64, DbErr> {
    use sea_orm::{Condition, QuerySelect};
    let ids: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(
            Condition::any()
                .add(Column::TmExpire.lt(now))
                .add(Column::TmUsed.lt(used_before)),
        )
        .limit(PURGE_BATCH)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let result = Entity::delete_many()
        .filter(Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::queries::agents;

    #[tokio::test]
    async fn the_purge_deletes_expired_and_long_used_tokens_only() {
        let url = talk_testkit::fresh_database().await.expect("database");
        let db = talk_store::connect(&url, "agent", 2)
            .await
            .expect("connect");
        crate::db::migration::run(&db).await.expect("migrate");
        crate::service::bootstrap::run(&db, "admin-password-123")
            .await
            .expect("bootstrap");
        let admin = agents::find_login(&db, "admin")
            .await
            .expect("find")
            .expect("admin");
        let now = talk_types::time::now();
        let hour = chrono::Duration::hours(1);
        let token = |tm_expire, tm_used| Model {
            id: Uuid::now_v7(),
            agent_id: admin.agent_id(),
            customer_id: admin.customer_id,
            secret_hash: "0".repeat(64),
            token_version: 0,
            tm_create: now - hour * 48,
            tm_expire,
            tm_used,
        };
        let live = token(now + hour, None);
        let used_lately = token(now + hour, Some(now - hour));
        let expired = token(now - hour, None);
        let used_long_ago = token(now + hour, Some(now - hour * 25));
        for row in [&live, &used_lately, &expired, &used_long_ago] {
            insert(&db, row.clone()).await.expect("insert");
        }
        let deleted = purge_batch(&db, now, now - hour * 24).await.expect("purge");
        assert_eq!(deleted, 2);
        assert_eq!(
            purge_batch(&db, now, now - hour * 24).await.expect("again"),
            0
        );
        for (row, kept) in [
            (live, true),
            (used_lately, true),
            (expired, false),
            (used_long_ago, false),
        ] {
            assert_eq!(
                find(&db, row.id).await.expect("find").is_some(),
                kept,
                "{row:?}"
            );
        }
        drop(db);
        talk_testkit::drop_database(&url).await.ok();
    }
}
