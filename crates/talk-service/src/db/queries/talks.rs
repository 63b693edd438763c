//! Queries on `talks`.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId, TalkId};

use crate::db::entities::participant::{self, ParticipantState};
use crate::db::entities::talk::{self, TalkState, TalkType};

/// Inserts a new talk.
pub async fn insert<C: ConnectionTrait>(conn: &C, model: talk::Model) -> Result<(), DbErr> {
    talk::Entity::insert(model.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The talk `id` of `customer`, deleted or not.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: TalkId,
) -> Result<Option<talk::Model>, DbErr> {
    talk::Entity::find_by_id(id.0)
        .filter(talk::Column::CustomerId.eq(customer))
        .one(conn)
        .await
}

/// Like [`find`], but locks the row until the transaction ends (a no-op on
/// SQLite, whose single connection serialises writers anyway).
pub async fn lock<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: TalkId,
) -> Result<Option<talk::Model>, DbErr> {
    talk::Entity::find_by_id(id.0)
        .filter(talk::Column::CustomerId.eq(customer))
        .lock_exclusive()
        .one(conn)
        .await
}

/// Writes every column of `model` back.
pub async fn save<C: ConnectionTrait>(conn: &C, model: talk::Model) -> Result<talk::Model, DbErr> {
    model.into_active_model().reset_all().update(conn).await
}

/// Non-deleted talks of `customer` where `agent` is an active participant.
pub fn mine(customer: CustomerId, agent: AgentId) -> Select<talk::Entity> {
    talk::Entity::find()
        .filter(talk::Column::CustomerId.eq(customer))
        .filter(talk::Column::TmDelete.is_null())
        .filter(
            talk::Column::Id.in_subquery(
                Query::select()
                    .column(participant::Column::TalkId)
                    .from(participant::Entity)
                    .and_where(participant::Column::CustomerId.eq(customer))
                    .and_where(participant::Column::OwnerId.eq(agent))
                    .and_where(participant::Column::State.eq(ParticipantState::Active))
                    .to_owned(),
            ),
        )
}

/// [`mine`] in `state` only, when one is given.
pub fn mine_in(
    customer: CustomerId,
    agent: AgentId,
    state: Option<TalkState>,
) -> Select<talk::Entity> {
    let select = mine(customer, agent);
    match state {
        Some(state) => select.filter(talk::Column::State.eq(state)),
        None => select,
    }
}

/// Ids of `customer`'s open group and public talks (never direct ones), not
/// deleted, whose last activity is before `cutoff`: at most `limit`, in id
/// order after `after`.
pub async fn inactive<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    cutoff: Timestamp,
    after: Option<TalkId>,
    limit: u64,
) -> Result<Vec<TalkId>, DbErr> {
    let mut select = talk::Entity::find()
        .select_only()
        .column(talk::Column::Id)
        .filter(talk::Column::CustomerId.eq(customer))
        .filter(talk::Column::State.eq(TalkState::Active))
        .filter(talk::Column::TmActivity.lt(cutoff))
        .filter(talk::Column::TmDelete.is_null())
        .filter(talk::Column::Kind.is_in([TalkType::Group, TalkType::Talk]));
    if let Some(after) = after {
        select = select.filter(talk::Column::Id.gt(after.0));
    }
    select
        .order_by_asc(talk::Column::Id)
        .limit(limit)
        .into_tuple::<TalkId>()
        .all(conn)
        .await
}

/// Moves the last activity of `customer`'s talk `id` forward to `at` (never
/// back: a late or repeated event changes nothing).
pub async fn touch<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: TalkId,
    at: Timestamp,
) -> Result<(), DbErr> {
    talk::Entity::update_many()
        .col_expr(talk::Column::TmActivity, Expr::value(at))
        .filter(talk::Column::Id.eq(id.0))
        .filter(talk::Column::CustomerId.eq(customer))
        .filter(talk::Column::TmActivity.lt(at))
        .exec(conn)
        .await?;
    Ok(())
}

/// Non-deleted public channels (`type` talk) of `customer`.
pub fn channels(customer: CustomerId) -> Select<talk::Entity> {
    talk::Entity::find()
        .filter(talk::Column::CustomerId.eq(customer))
        .filter(talk::Column::Kind.eq(TalkType::Talk))
        .filter(talk::Column::TmDelete.is_null())
}

/// One page of `select`, newest first, strictly older than `before`.
///
/// A page never ends inside a group of talks created in the same
/// microsecond, so the next page (strictly older than the last item) has no
/// gaps: the trailing group is left for the next page, or, when the whole
/// page is one group, the page is extended to the whole group.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    select: Select<talk::Entity>,
    before: Option<Timestamp>,
    limit: u64,
) -> Result<Vec<talk::Model>, DbErr> {
    let bounded = |select: Select<talk::Entity>| match before {
        Some(ts) => select.filter(talk::Column::TmCreate.lt(ts)),
        None => select,
    };
    let mut rows = bounded(select.clone())
        .order_by_desc(talk::Column::TmCreate)
        .order_by_desc(talk::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    if rows.len() as u64 <= limit {
        return Ok(rows);
    }
    let boundary = rows[limit as usize].tm_create;
    rows.truncate(limit as usize);
    if rows.last().is_some_and(|r| r.tm_create == boundary) {
        rows.retain(|r| r.tm_create != boundary);
        if rows.is_empty() {
            return select
                .filter(talk::Column::TmCreate.eq(boundary))
                .order_by_desc(talk::Column::Id)
                .all(conn)
                .await;
        }
    }
    Ok(rows)
}

/// The non-deleted talks of `customer` where `agent` is active, with when
/// its membership began.
pub async fn memberships<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    agent: AgentId,
) -> Result<Vec<(TalkId, Timestamp)>, DbErr> {
    participant::Entity::find()
        .select_only()
        .column(participant::Column::TalkId)
        .column(participant::Column::TmJoined)
        .filter(participant::Column::CustomerId.eq(customer))
        .filter(participant::Column::OwnerId.eq(agent))
        .filter(participant::Column::State.eq(ParticipantState::Active))
        .filter(
            participant::Column::TalkId.in_subquery(
                Query::select()
                    .column(talk::Column::Id)
                    .from(talk::Entity)
                    .and_where(talk::Column::CustomerId.eq(customer))
                    .and_where(talk::Column::TmDelete.is_null())
                    .to_owned(),
            ),
        )
        .into_tuple::<(TalkId, Timestamp)>()
        .all(conn)
        .await
}
