//! Queries on `deliveries`.

use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use talk_types::CustomerId;
use talk_types::time::Timestamp;

use crate::db::entities::delivery::{ActiveModel, Column, Entity, Model};
use crate::db::entities::endpoint;
use crate::{DeliveryId, WebhookId};

/// `pending`: an attempt is due, or in flight.
pub const PENDING: &str = "pending";
/// `succeeded`: an attempt was answered 2xx.
pub const SUCCEEDED: &str = "succeeded";
/// `failed`: every attempt failed, or the endpoint was disabled.
pub const FAILED: &str = "failed";

/// Stores new deliveries.
pub async fn insert_many<C: ConnectionTrait>(conn: &C, rows: Vec<Model>) -> Result<(), DbErr> {
    for chunk in rows.chunks(200) {
        let chunk: Vec<ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
        Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The ids of the endpoints that receive in order.
fn ordered_endpoints() -> SelectStatement {
    Query::select()
        .column(endpoint::Column::Id)
        .from(endpoint::Entity)
        .and_where(endpoint::Column::Ordered.eq(true))
        .to_owned()
}

/// Up to `limit` deliveries due at `now`, oldest due first, of endpoints
/// other than `busy` that do not receive in order.
pub async fn due<C: ConnectionTrait>(
    conn: &C,
    now: Timestamp,
    busy: &[WebhookId],
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::TmNextAttempt.lte(now))
        .filter(Column::EndpointId.not_in_subquery(ordered_endpoints()));
    if !busy.is_empty() {
        query = query.filter(Column::EndpointId.is_not_in(busy.iter().copied()));
    }
    query
        .order_by_asc(Column::TmNextAttempt)
        .limit(limit)
        .all(conn)
        .await
}

/// Of each endpoint that receives in order, its first pending delivery (in
/// bus order) when it is due at `now`: the next cannot start before it ends.
/// One indexed query per such endpoint (there are few; none, usually).
pub async fn ordered_heads<C: ConnectionTrait>(
    conn: &C,
    now: Timestamp,
) -> Result<Vec<Model>, DbErr> {
    let ordered: Vec<WebhookId> = endpoint::Entity::find()
        .select_only()
        .column(endpoint::Column::Id)
        .filter(endpoint::Column::Ordered.eq(true))
        .filter(endpoint::Column::DisabledReason.is_null())
        .into_tuple()
        .all(conn)
        .await?;
    let mut heads = Vec::new();
    for id in ordered {
        let head = Entity::find()
            .filter(Column::EndpointId.eq(id))
            .filter(Column::Status.eq(PENDING))
            .order_by_asc(Column::EventSeq)
            .order_by_asc(Column::Id)
            .one(conn)
            .await?;
        if let Some(head) = head
            && head.tm_next_attempt.is_some_and(|due| due <= now)
        {
            heads.push(head);
        }
    }
    Ok(heads)
}

/// How many deliveries are due at `now`.
pub async fn backlog<C: ConnectionTrait>(conn: &C, now: Timestamp) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::TmNextAttempt.lte(now))
        .count(conn)
        .await
}

/// When the next pending delivery is due.
pub async fn next_due<C: ConnectionTrait>(conn: &C) -> Result<Option<Timestamp>, DbErr> {
    Ok(Entity::find()
        .filter(Column::Status.eq(PENDING))
        .filter(Column::TmNextAttempt.is_not_null())
        .order_by_asc(Column::TmNextAttempt)
        .one(conn)
        .await?
        .and_then(|row| row.tm_next_attempt))
}

/// Claims `row` for one attempt until `until` (when a crashed attempt's
/// delivery is due again): true when no one else claimed it first.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    row: &Model,
    until: Timestamp,
) -> Result<bool, DbErr> {
    let done = Entity::update_many()
        .col_expr(Column::TmNextAttempt, Expr::value(until))
        .filter(Column::Id.eq(row.id))
        .filter(Column::Status.eq(PENDING))
        .filter(Column::Attempts.eq(row.attempts))
        .filter(Column::TmNextAttempt.eq(row.tm_next_attempt))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// What one attempt found.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Attempts made, this one included.
    pub attempts: i32,
    /// `pending` (a retry follows), `succeeded` or `failed`.
    pub status: &'static str,
    /// When the retry is due.
    pub next: Option<Timestamp>,
    /// The answer's status.
    pub response_status: Option<i32>,
    /// How long it took.
    pub latency_ms: i32,
    /// The start of the answer's body.
    pub response_body: Option<String>,
    /// Why there was no answer.
    pub error: Option<String>,
}

/// Records `attempt` of delivery `id`.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    id: DeliveryId,
    attempt: Attempt,
    now: Timestamp,
) -> Result<(), DbErr> {
    let Attempt {
        attempts,
        status,
        next,
        response_status,
        latency_ms,
        response_body,
        error,
    } = attempt;
    let row = ActiveModel {
        id: Set(id),
        attempts: Set(attempts),
        status: Set(status.to_owned()),
        tm_next_attempt: Set(next),
        response_status: Set(response_status),
        latency_ms: Set(Some(latency_ms)),
        response_body: Set(response_body),
        error: Set(error),
        tm_update: Set(now),
        ..Default::default()
    };
    Entity::update(row).exec(conn).await?;
    Ok(())
}

/// Ends every pending delivery of `endpoint` as failed, for `why`.
pub async fn fail_pending<C: ConnectionTrait>(
    conn: &C,
    endpoint: WebhookId,
    why: &str,
    now: Timestamp,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(FAILED))
        .col_expr(
            Column::TmNextAttempt,
            Expr::value(Option::<Timestamp>::None),
        )
        .col_expr(Column::Error, Expr::value(why))
        .col_expr(Column::TmUpdate, Expr::value(now))
        .filter(Column::EndpointId.eq(endpoint))
        .filter(Column::Status.eq(PENDING))
        .exec(conn)
        .await?;
    Ok(())
}

/// A page of `endpoint`'s deliveries, newest first, before `before`.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    endpoint: WebhookId,
    before: Option<DeliveryId>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::EndpointId.eq(endpoint));
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    query.order_by_desc(Column::Id).limit(limit).all(conn).await
}

/// Deletes up to `limit` finished deliveries last changed before `before`;
/// answers how many.
pub async fn purge_finished<C: ConnectionTrait>(
    conn: &C,
    before: Timestamp,
    limit: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<DeliveryId> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Status.ne(PENDING))
        .filter(Column::TmUpdate.lt(before))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let done = Entity::delete_many()
        .filter(Column::Id.is_in(ids))
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}
