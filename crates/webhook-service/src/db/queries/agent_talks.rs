//! Queries on `agent_talks`.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use talk_types::{AgentId, TalkId};

use crate::db::entities::agent_talk::{ActiveModel, Column, Entity};

/// Which of `agents` are in which of `talks`.
pub async fn among<C: ConnectionTrait>(
    conn: &C,
    agents: impl IntoIterator<Item = AgentId>,
    talks: impl IntoIterator<Item = TalkId>,
) -> Result<HashSet<(AgentId, TalkId)>, DbErr> {
    let rows: Vec<(AgentId, TalkId)> = Entity::find()
        .select_only()
        .column(Column::AgentId)
        .column(Column::TalkId)
        .filter(Column::AgentId.is_in(agents))
        .filter(Column::TalkId.is_in(talks))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The talks `agent` is in.
pub async fn of<C: ConnectionTrait>(conn: &C, agent: AgentId) -> Result<Vec<TalkId>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::TalkId)
        .filter(Column::AgentId.eq(agent))
        .into_tuple()
        .all(conn)
        .await
}

/// Records that each agent is in its talk (known pairs stay as they are).
pub async fn add<C: ConnectionTrait>(
    conn: &C,
    pairs: impl IntoIterator<Item = (AgentId, TalkId)>,
) -> Result<(), DbErr> {
    let rows: Vec<ActiveModel> = pairs
        .into_iter()
        .map(|(agent_id, talk_id)| ActiveModel {
            agent_id: Set(agent_id),
            talk_id: Set(talk_id),
        })
        .collect();
    for chunk in rows.chunks(500) {
        Entity::insert_many(chunk.to_vec())
            .on_conflict_do_nothing_on([Column::AgentId, Column::TalkId])
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Records that each agent left its talk.
pub async fn remove<C: ConnectionTrait>(
    conn: &C,
    pairs: impl IntoIterator<Item = (AgentId, TalkId)>,
) -> Result<(), DbErr> {
    for (agent, talk) in pairs {
        Entity::delete_many()
            .filter(Column::AgentId.eq(agent))
            .filter(Column::TalkId.eq(talk))
            .exec(conn)
            .await?;
    }
    Ok(())
}
