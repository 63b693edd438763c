//! Queries on `participants`.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId, ParticipantId, TalkId};

use crate::db::entities::participant::{self, OWNER_AGENT, ParticipantState, Role};

/// Inserts participant records.
pub async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    models: Vec<participant::Model>,
) -> Result<(), DbErr> {
    if models.is_empty() {
        return Ok(());
    }
    participant::Entity::insert_many(models.into_iter().map(IntoActiveModel::into_active_model))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The active record of `agent` in `talk`.
pub async fn active_of<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    talk: TalkId,
    agent: AgentId,
) -> Result<Option<participant::Model>, DbErr> {
    participant::Entity::find()
        .filter(participant::Column::CustomerId.eq(customer))
        .filter(participant::Column::TalkId.eq(talk))
        .filter(participant::Column::OwnerType.eq(OWNER_AGENT))
        .filter(participant::Column::OwnerId.eq(agent))
        .filter(participant::Column::State.eq(ParticipantState::Active))
        .one(conn)
        .await
}

/// The record `id`, if it belongs to `talk`.
pub async fn find_in_talk<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    talk: TalkId,
    id: ParticipantId,
) -> Result<Option<participant::Model>, DbErr> {
    participant::Entity::find_by_id(id.0)
        .filter(participant::Column::CustomerId.eq(customer))
        .filter(participant::Column::TalkId.eq(talk))
        .one(conn)
        .await
}

/// Gives `record` the role `role`; returns the updated record.
pub async fn set_role<C: ConnectionTrait>(
    conn: &C,
    record: participant::Model,
    role: Role,
) -> Result<participant::Model, DbErr> {
    participant::Entity::update_many()
        .col_expr(
            participant::Column::Role,
            sea_orm::sea_query::Expr::value(role),
        )
        .filter(participant::Column::Id.eq(record.id))
        .exec(conn)
        .await?;
    Ok(participant::Model { role, ..record })
}

/// Marks an active record as left; returns the updated record.
pub async fn mark_left<C: ConnectionTrait>(
    conn: &C,
    record: participant::Model,
    now: Timestamp,
) -> Result<participant::Model, DbErr> {
    participant::Entity::update_many()
        .col_expr(
            participant::Column::State,
            sea_orm::sea_query::Expr::value(ParticipantState::Left),
        )
        .col_expr(
            participant::Column::TmLeft,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(participant::Column::Id.eq(record.id))
        .exec(conn)
        .await?;
    Ok(participant::Model {
        state: ParticipantState::Left,
        tm_left: Some(now),
        ..record
    })
}

/// How many active participants `talk` has.
pub async fn count_active<C: ConnectionTrait>(conn: &C, talk: TalkId) -> Result<u64, DbErr> {
    participant::Entity::find()
        .filter(participant::Column::TalkId.eq(talk))
        .filter(participant::Column::State.eq(ParticipantState::Active))
        .count(conn)
        .await
}

/// Active participants of `talk`, newest joined first.
pub async fn list_active<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    talk: TalkId,
) -> Result<Vec<participant::Model>, DbErr> {
    participant::Entity::find()
        .filter(participant::Column::CustomerId.eq(customer))
        .filter(participant::Column::TalkId.eq(talk))
        .filter(participant::Column::State.eq(ParticipantState::Active))
        .order_by_desc(participant::Column::TmJoined)
        .order_by_desc(participant::Column::Id)
        .all(conn)
        .await
}

/// Agent ids of the active participants of `talk` who joined at or after `joined_since`.
pub async fn active_owner_ids_since<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    talk: TalkId,
    joined_since: talk_types::time::Timestamp,
) -> Result<Vec<AgentId>, DbErr> {
    participant::Entity::find()
        .select_only()
        .column(participant::Column::OwnerId)
        .filter(participant::Column::CustomerId.eq(customer))
        .filter(participant::Column::TalkId.eq(talk))
        .filter(participant::Column::OwnerType.eq(OWNER_AGENT))
        .filter(participant::Column::State.eq(ParticipantState::Active))
        .filter(participant::Column::TmJoined.gte(joined_since))
        .into_tuple::<AgentId>()
        .all(conn)
        .await
}
