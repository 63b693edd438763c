//! Queries on `files`.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId};

use crate::FileId;
use crate::db::entities::file::{ActiveModel, Column, Entity, Model};

/// `uploading`: the content is streaming in.
pub const UPLOADING: &str = "uploading";
/// `ready`: the content is stored.
pub const READY: &str = "ready";

/// Stores a new file row.
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<Model, DbErr> {
    row.into_active_model().insert(conn).await
}

/// Writes the changed columns of `row`.
pub async fn update<C: ConnectionTrait>(conn: &C, row: ActiveModel) -> Result<Model, DbErr> {
    row.update(conn).await
}

/// Removes the row of `id` (an upload that failed, a collected orphan).
pub async fn remove<C: ConnectionTrait>(conn: &C, id: FileId) -> Result<(), DbErr> {
    Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// File `id` of `customer`, deleted or not, ready or not.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: FileId,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::CustomerId.eq(customer))
        .one(conn)
        .await
}

/// `customer`'s ready, undeleted files (only `owner`'s when given), newest
/// first, created before `before`.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    owner: Option<AgentId>,
    before: Option<Timestamp>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::State.eq(READY))
        .filter(Column::TmDelete.is_null());
    if let Some(owner) = owner {
        query = query.filter(Column::OwnerId.eq(owner));
    }
    if let Some(before) = before {
        query = query.filter(Column::TmCreate.lt(before));
    }
    query
        .order_by_desc(Column::TmCreate)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
}

#[derive(FromQueryResult)]
struct Used {
    used: Option<i64>,
}

/// Bytes `customer`'s undeleted files take, uploads under way included.
pub async fn used_bytes<C: ConnectionTrait>(conn: &C, customer: CustomerId) -> Result<u64, DbErr> {
    let used = Entity::find()
        .select_only()
        // SUM(bigint) is numeric on PostgreSQL: cast back.
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(filesize), 0) AS BIGINT)"),
            "used",
        )
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TmDelete.is_null())
        .into_model::<Used>()
        .one(conn)
        .await?
        .and_then(|u| u.used)
        .unwrap_or(0);
    Ok(u64::try_from(used).unwrap_or(0))
}

/// Uploads that never completed, created before `before`, and ready files
/// never attached anywhere, created before `before`, deleted ones included
/// (their rows go once their content is gone).
pub async fn orphans<C: ConnectionTrait>(
    conn: &C,
    before: Timestamp,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    use crate::db::entities::attachment;
    let attached = sea_orm::sea_query::Query::select()
        .column(attachment::Column::FileId)
        .from(attachment::Entity)
        .to_owned();
    Entity::find()
        .filter(Column::TmCreate.lt(before))
        .filter(Column::Id.not_in_subquery(attached))
        .order_by_asc(Column::TmCreate)
        .limit(limit)
        .all(conn)
        .await
}
