//! What an access check reads: a talk, the caller's active record in it and the
//! agents who joined recently, in one statement on PostgreSQL (message-service
//! asks for it before every write).

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult, QueryResult, Statement, Value,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId, TalkId};

use super::{participants, talks};
use crate::db::entities::{participant, talk};

/// A talk as an access check sees it.
pub struct Found {
    /// The talk, deleted or not.
    pub talk: talk::Model,
    /// The active records of the agents asked about (those who have one).
    pub mine: Vec<participant::Model>,
    /// Agent ids of the active participants who joined at or after `joined_since`.
    pub recent: Vec<AgentId>,
}

const TALK_COLUMNS: [&str; 12] = [
    "id",
    "customer_id",
    "type",
    "name",
    "detail",
    "state",
    "member_count",
    "tm_create",
    "tm_update",
    "tm_delete",
    "tm_activity",
    "close_reason",
];

const PARTICIPANT_COLUMNS: [&str; 9] = [
    "id",
    "customer_id",
    "talk_id",
    "owner_type",
    "owner_id",
    "state",
    "role",
    "tm_joined",
    "tm_left",
];

/// The talk `id` of `customer` with the active records of `agents` and the
/// recent joiners.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: TalkId,
    agents: &[AgentId],
    joined_since: Timestamp,
) -> Result<Option<Found>, DbErr> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return find_in_steps(conn, customer, id, agents, joined_since).await;
    }
    let columns = |alias: &str, names: &[&str]| {
        names
            .iter()
            .map(|c| format!("{alias}.\"{c}\" AS {alias}_{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // One row per agent with an active record, or one with NULLs for `p`.
    let sql = format!(
        "SELECT {talk}, {me}, \
           (SELECT string_agg(r.owner_id::text, ',') FROM participants r \
            WHERE r.customer_id = t.customer_id AND r.talk_id = t.id AND r.owner_type = $4 \
              AND r.state = 'active' AND r.tm_joined >= $5) AS recent \
         FROM talks t \
         LEFT JOIN participants p ON p.customer_id = t.customer_id AND p.talk_id = t.id \
           AND p.owner_type = $4 AND p.owner_id = ANY($3::text::uuid[]) AND p.state = 'active' \
         WHERE t.id = $1 AND t.customer_id = $2",
        talk = columns("t", &TALK_COLUMNS),
        me = columns("p", &PARTICIPANT_COLUMNS),
    );
    let ids: Vec<String> = agents.iter().map(ToString::to_string).collect();
    let values: [Value; 5] = [
        id.into(),
        customer.into(),
        format!("{{{}}}", ids.join(",")).into(),
        participant::OWNER_AGENT.into(),
        joined_since.into(),
    ];
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    // The talk and the recent joiners repeat on every row: read them once.
    let mut mine = Vec::with_capacity(rows.len());
    for row in &rows {
        mine.extend(participant::Model::from_query_result_optional(row, "p_")?);
    }
    Ok(Some(Found {
        talk: talk::Model::from_query_result(first, "t_")?,
        mine,
        recent: recent(first)?,
    }))
}

/// The `recent` column: comma-separated agent ids.
fn recent(row: &QueryResult) -> Result<Vec<AgentId>, DbErr> {
    let recent: Option<String> = row.try_get("", "recent")?;
    recent
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map(AgentId)
                .map_err(|e| DbErr::Type(format!("recent member id {s:?}: {e}")))
        })
        .collect()
}

/// The same reads one query at a time (SQLite, in-process: round trips are free).
async fn find_in_steps<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    id: TalkId,
    agents: &[AgentId],
    joined_since: Timestamp,
) -> Result<Option<Found>, DbErr> {
    let Some(talk) = talks::find(conn, customer, id).await? else {
        return Ok(None);
    };
    let mut mine = Vec::new();
    for agent in agents {
        mine.extend(participants::active_of(conn, customer, id, *agent).await?);
    }
    let recent = participants::active_owner_ids_since(conn, customer, id, joined_since).await?;
    Ok(Some(Found { talk, mine, recent }))
}
