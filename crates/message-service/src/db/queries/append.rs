//! Appending a message to its talk: bump the talk's counters (taking its row
//! lock), insert the message numbered by them, and move the author's read
//! position. One statement on PostgreSQL, where this is every post's hot path.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Statement, Value};
use talk_types::{AgentId, time};

use super::{counters, messages, read_states};
use crate::db::entities::{message, talk_counter};

/// Writes `row` as the talk's next message and returns it numbered: `seq`,
/// `change_seq`, `tm_create` and `tm_update` come from the talk's counters
/// bumped by `changes` change numbers (the first is the message's). When
/// `reader` is set, that agent's read position moves up to the new seq.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    row: message::Model,
    changes: i64,
    reader: Option<AgentId>,
) -> Result<(message::Model, talk_counter::Model), DbErr> {
    let now = time::to_micros(&row.tm_create);
    if db.get_database_backend() != DatabaseBackend::Postgres {
        let bump = counters::Bump {
            message_at: Some(now),
            changes,
        };
        let counters = counters::bump(db, row.customer_id, row.talk_id, bump).await?;
        let row = numbered(row, &counters, changes);
        messages::insert(db, row.clone()).await?;
        if let Some(reader) = reader {
            read_states::advance(db, row.customer_id, row.talk_id, reader, row.seq).await?;
        }
        return Ok((row, counters));
    }
    let read_state = if reader.is_some() {
        ", r AS ( \
           INSERT INTO read_states (talk_id, agent_id, customer_id, last_read_seq) \
           SELECT $1, $12, $2, c.last_seq FROM c \
           ON CONFLICT (talk_id, agent_id) DO UPDATE \
           SET last_read_seq = GREATEST(read_states.last_read_seq, excluded.last_read_seq) \
         )"
    } else {
        ""
    };
    // Same bump as `counters::bump`: a new talk starts at seq 1, and
    // `last_tm_create` moves to now or one microsecond past the previous message.
    let sql = format!(
        "WITH c AS ( \
           INSERT INTO talk_counters AS k (talk_id, customer_id, last_seq, last_change, last_tm_create) \
           VALUES ($1, $2, 1, $3, $4) \
           ON CONFLICT (talk_id) DO UPDATE SET \
             last_seq = k.last_seq + 1, \
             last_change = k.last_change + $3, \
             last_tm_create = CASE WHEN k.last_tm_create >= $4 THEN k.last_tm_create + 1 ELSE $4 END \
           WHERE k.customer_id = $2 \
           RETURNING k.* \
         ), m AS ( \
           INSERT INTO messages (id, customer_id, talk_id, parent_id, owner_type, owner_id, \"type\", \
             text, medias, seq, change_seq, reply_count, tm_create, tm_update) \
           SELECT $5, $2, $1, $6, $7, $8, $9, $10, $11, c.last_seq, c.last_change - $3 + 1, 0, \
             timestamptz 'epoch' + c.last_tm_create * interval '1 microsecond', \
             timestamptz 'epoch' + c.last_tm_create * interval '1 microsecond' \
           FROM c \
         ){read_state} \
         SELECT * FROM c"
    );
    let message::Model {
        id,
        customer_id,
        talk_id,
        parent_id,
        ref owner_type,
        owner_id,
        ref kind,
        ref text,
        ref medias,
        ..
    } = row;
    let mut values: Vec<Value> = vec![
        talk_id.into(),
        customer_id.into(),
        changes.into(),
        now.into(),
        id.into(),
        parent_id.into(),
        owner_type.as_str().into(),
        owner_id.into(),
        kind.as_str().into(),
        text.as_str().into(),
        medias.as_str().into(),
    ];
    values.extend(reader.map(Value::from));
    let counters = talk_counter::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("talk counters of another customer".into()))?;
    Ok((numbered(row, &counters, changes), counters))
}

/// `row` with the numbers the bump gave it.
fn numbered(row: message::Model, counters: &talk_counter::Model, changes: i64) -> message::Model {
    let tm_create = time::from_micros(counters.last_tm_create).unwrap_or(row.tm_create);
    message::Model {
        seq: counters.last_seq,
        change_seq: counters.last_change - changes + 1,
        tm_create,
        tm_update: tm_create,
        ..row
    }
}
