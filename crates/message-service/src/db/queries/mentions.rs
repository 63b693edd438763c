//! Queries on `mentions` (one row per message and agent it mentions; the
//! message's own list is `messages.mentions`). The post path of PostgreSQL
//! writes the rows in `append.sql`.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId, MessageId, TalkId};

use crate::db::entities::{mention, message};
use crate::wire;

/// Writes the rows of `row`'s mentions.
pub async fn insert<C: ConnectionTrait>(db: &C, row: &message::Model) -> Result<(), DbErr> {
    let mut agents: Vec<AgentId> = wire::mentions_from_json(&row.mentions)
        .iter()
        .filter_map(|m| AgentId::parse("agent_id", &m.agent_id).ok())
        .collect();
    agents.sort_unstable_by_key(|a| a.0);
    agents.dedup();
    if agents.is_empty() {
        return Ok(());
    }
    let rows = agents.into_iter().map(|agent| {
        sea_orm::ActiveModelTrait::reset_all(sea_orm::IntoActiveModel::into_active_model(
            mention::Model {
                message_id: row.id,
                agent_id: agent,
                customer_id: row.customer_id,
                talk_id: row.talk_id,
                seq: row.seq,
                tm_create: row.tm_create,
            },
        ))
    });
    mention::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Replaces the rows of `row`'s mentions (after an edit or a delete).
pub async fn replace<C: ConnectionTrait>(db: &C, row: &message::Model) -> Result<(), DbErr> {
    mention::Entity::delete_many()
        .filter(mention::Column::MessageId.eq(row.id))
        .exec(db)
        .await?;
    insert(db, row).await
}

/// For each of `talks`, how many messages after `agent`'s read position
/// mention it.
pub async fn unread_counts<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: AgentId,
    talks: &[TalkId],
) -> Result<Vec<(TalkId, i64)>, DbErr> {
    if talks.is_empty() {
        return Ok(Vec::new());
    }
    let after_read = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "mentions.seq > COALESCE((SELECT r.last_read_seq FROM read_states r \
             WHERE r.talk_id = mentions.talk_id AND r.agent_id = $1), 0)"
        }
        _ => {
            "mentions.seq > COALESCE((SELECT r.last_read_seq FROM read_states r \
             WHERE r.talk_id = mentions.talk_id AND r.agent_id = ?), 0)"
        }
    };
    mention::Entity::find()
        .select_only()
        .column(mention::Column::TalkId)
        .column_as(mention::Column::Seq.count(), "count")
        .filter(mention::Column::CustomerId.eq(customer))
        .filter(mention::Column::AgentId.eq(agent))
        .filter(mention::Column::TalkId.is_in(talks.iter().copied()))
        .filter(Expr::cust_with_values(after_read, [agent.0]))
        .group_by(mention::Column::TalkId)
        .into_tuple::<(TalkId, i64)>()
        .all(db)
        .await
}

/// Live messages of `talks` that mention `agent`, newest first, strictly
/// older than `before`; at most `limit`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: AgentId,
    talks: &[TalkId],
    before: Option<(Timestamp, MessageId)>,
    limit: u64,
) -> Result<Vec<message::Model>, DbErr> {
    if talks.is_empty() {
        return Ok(Vec::new());
    }
    let mut mine = mention::Entity::find()
        .select_only()
        .column(mention::Column::MessageId)
        .filter(mention::Column::CustomerId.eq(customer))
        .filter(mention::Column::AgentId.eq(agent))
        .filter(mention::Column::TalkId.is_in(talks.iter().copied()));
    if let Some((tm, id)) = before {
        mine = mine.filter(
            Condition::any().add(mention::Column::TmCreate.lt(tm)).add(
                Condition::all()
                    .add(mention::Column::TmCreate.eq(tm))
                    .add(mention::Column::MessageId.lt(id)),
            ),
        );
    }
    let ids: Vec<MessageId> = mine
        .order_by_desc(mention::Column::TmCreate)
        .order_by_desc(mention::Column::MessageId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    message::Entity::find()
        .filter(message::Column::CustomerId.eq(customer))
        .filter(message::Column::Id.is_in(ids))
        .filter(message::Column::TmDelete.is_null())
        .order_by_desc(message::Column::TmCreate)
        .order_by_desc(message::Column::Id)
        .all(db)
        .await
}
