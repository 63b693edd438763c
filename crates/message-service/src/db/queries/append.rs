//! Appending messages to their talk: bump the talk's counters (taking its row
//! lock), insert the messages numbered by them, and move the authors' read
//! positions. One statement on PostgreSQL for any number of messages, where
//! this is every post's hot path (a batch of posts is one statement).

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Statement};
use serde_json::json;
use talk_types::{AgentId, time};

use super::{counters, messages, read_states};
use crate::db::entities::{message, talk_counter};

/// A message to append.
pub struct Append {
    /// The message; its numbers (`seq`, `change_seq`, times) are filled in.
    pub row: message::Model,
    /// Change numbers it takes (the first is the message's).
    pub changes: i64,
    /// An agent whose read position moves up to the message.
    pub reader: Option<AgentId>,
}

/// Writes `items`, all of one talk and customer, as the talk's next messages
/// in order, and returns them numbered with the counters after the last:
/// `seq`, `change_seq`, `tm_create` and `tm_update` come from the talk's
/// counters (each message takes the next seq and its `changes` change numbers,
/// and a `tm_create` one microsecond past the previous message at least).
pub async fn append<C: ConnectionTrait>(
    db: &C,
    items: Vec<Append>,
) -> Result<(Vec<message::Model>, talk_counter::Model), DbErr> {
    let Some(first) = items.first() else {
        return Err(DbErr::Custom("nothing to append".into()));
    };
    let (customer, talk) = (first.row.customer_id, first.row.talk_id);
    if items
        .iter()
        .any(|i| i.row.customer_id != customer || i.row.talk_id != talk)
    {
        return Err(DbErr::Custom(
            "messages of several talks in one append".into(),
        ));
    }
    let now = time::to_micros(&first.row.tm_create);
    if db.get_database_backend() != DatabaseBackend::Postgres {
        let mut items = items;
        let mut last = None;
        for i in 0..items.len() {
            let bump = counters::Bump {
                message_at: Some(now),
                changes: items[i].changes,
            };
            let counters = counters::bump(db, customer, talk, bump).await?;
            renumber(&mut items[i..=i], &counters);
            let Append { row, reader, .. } = &items[i];
            messages::insert(db, row.clone()).await?;
            if let Some(reader) = *reader {
                read_states::advance(db, customer, talk, reader, row.seq).await?;
            }
            last = Some(counters);
        }
        let rows = items.into_iter().map(|i| i.row).collect();
        return last
            .map(|counters| (rows, counters))
            .ok_or_else(|| DbErr::Custom("nothing appended".into()));
    }
    let count = items.len() as i64;
    let total: i64 = items.iter().map(|i| i.changes).sum();
    let input: Vec<_> = items
        .iter()
        .map(
            |Append {
                 row,
                 changes,
                 reader,
             }| {
                json!({
                    "id": row.id,
                    "parent_id": row.parent_id,
                    "owner_type": row.owner_type,
                    "owner_id": row.owner_id,
                    "type": row.kind,
                    "text": row.text,
                    "medias": row.medias,
                    "changes": changes,
                    "reader": reader,
                })
            },
        )
        .collect();
    // Like `counters::bump` taken `count` times at once: a new talk starts at
    // seq 1, and the first message's `tm_create` is now or one microsecond
    // past the previous message. Message n (1-based) of the batch gets
    // seq = last_seq - count + n and tm = last_tm_create - count + n.
    let sql = "WITH c AS ( \
           INSERT INTO talk_counters AS k (talk_id, customer_id, last_seq, last_change, last_tm_create) \
           VALUES ($1, $2, $3, $4, $5 + $3 - 1) \
           ON CONFLICT (talk_id) DO UPDATE SET \
             last_seq = k.last_seq + $3, \
             last_change = k.last_change + $4, \
             last_tm_create = CASE WHEN k.last_tm_create >= $5 THEN k.last_tm_create + $3 \
               ELSE $5 + $3 - 1 END \
           WHERE k.customer_id = $2 \
           RETURNING k.* \
         ), i AS ( \
           SELECT t.*, e.n, sum(t.changes) OVER (ORDER BY e.n) - t.changes AS before \
           FROM jsonb_array_elements($6::jsonb) WITH ORDINALITY AS e(v, n), \
             jsonb_to_record(e.v) AS t(id uuid, parent_id uuid, owner_type text, owner_id uuid, \
               \"type\" text, text text, medias text, changes bigint, reader uuid) \
         ), m AS ( \
           INSERT INTO messages (id, customer_id, talk_id, parent_id, owner_type, owner_id, \"type\", \
             text, medias, seq, change_seq, reply_count, tm_create, tm_update) \
           SELECT i.id, $2, $1, i.parent_id, i.owner_type, i.owner_id, i.\"type\", i.text, i.medias, \
             c.last_seq - $3 + i.n, c.last_change - $4 + i.before + 1, 0, \
             timestamptz 'epoch' + (c.last_tm_create - $3 + i.n) * interval '1 microsecond', \
             timestamptz 'epoch' + (c.last_tm_create - $3 + i.n) * interval '1 microsecond' \
           FROM c, i \
         ), r AS ( \
           INSERT INTO read_states (talk_id, agent_id, customer_id, last_read_seq) \
           SELECT $1, i.reader, $2, max(c.last_seq - $3 + i.n) FROM c, i \
           WHERE i.reader IS NOT NULL GROUP BY i.reader \
           ON CONFLICT (talk_id, agent_id) DO UPDATE \
           SET last_read_seq = GREATEST(read_states.last_read_seq, excluded.last_read_seq) \
         ) \
         SELECT * FROM c";
    let values = vec![
        talk.into(),
        customer.into(),
        count.into(),
        total.into(),
        now.into(),
        serde_json::Value::Array(input).into(),
    ];
    let counters = talk_counter::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("talk counters of another customer".into()))?;
    let mut items = items;
    renumber(&mut items, &counters);
    Ok((items.into_iter().map(|i| i.row).collect(), counters))
}

/// Numbers `items` as the talk's next messages after counters `before`, as
/// [`append`] does in the database, and returns the counters after them.
pub fn number(items: &mut [Append], before: &talk_counter::Model) -> talk_counter::Model {
    let count = items.len() as i64;
    let now = items
        .first()
        .map_or(0, |i| time::to_micros(&i.row.tm_create));
    let first_tm = if before.last_tm_create >= now {
        before.last_tm_create + 1
    } else {
        now
    };
    let after = talk_counter::Model {
        last_seq: before.last_seq + count,
        last_change: before.last_change + items.iter().map(|i| i.changes).sum::<i64>(),
        last_tm_create: first_tm + count - 1,
        ..before.clone()
    };
    renumber(items, &after);
    after
}

/// Writes `items`, numbered by [`number`] from counters `before`, the
/// outbox rows `outbox` (a JSON array of `{event_id, subject, traceparent,
/// payload}`, the payload in hex) and the idempotency records `claims` (a
/// JSON array of `{scope, key, request_hash, response}`, the response in hex)
/// in one statement, which on its own commits — if the talk's counters are
/// still `before` (a change number is taken by every write of the talk, so an
/// unchanged `last_change` means nobody wrote since). Ok(false): they were
/// not, and nothing was written. A claim whose key is recorded already fails
/// the whole statement (a unique violation). PostgreSQL only, and for
/// messages without a parent.
pub async fn append_known<C: ConnectionTrait>(
    db: &C,
    items: &[Append],
    before: &talk_counter::Model,
    after: &talk_counter::Model,
    outbox: serde_json::Value,
    claims: serde_json::Value,
) -> Result<bool, DbErr> {
    let input: Vec<_> = items
        .iter()
        .map(|Append { row, reader, .. }| {
            json!({
                "id": row.id,
                "owner_type": row.owner_type,
                "owner_id": row.owner_id,
                "type": row.kind,
                "text": row.text,
                "medias": row.medias,
                "seq": row.seq,
                "change_seq": row.change_seq,
                "tm": time::to_micros(&row.tm_create),
                "reader": reader,
            })
        })
        .collect();
    let sql = "WITH c AS ( \
           UPDATE talk_counters SET last_seq = $3, last_change = $4, last_tm_create = $5 \
           WHERE talk_id = $1 AND customer_id = $2 AND last_change = $6 \
           RETURNING 1 \
         ), i AS ( \
           SELECT * FROM jsonb_to_recordset($7::jsonb) AS t(id uuid, owner_type text, owner_id uuid, \
             \"type\" text, text text, medias text, seq bigint, change_seq bigint, tm bigint, \
             reader uuid) \
         ), m AS ( \
           INSERT INTO messages (id, customer_id, talk_id, parent_id, owner_type, owner_id, \"type\", \
             text, medias, seq, change_seq, reply_count, tm_create, tm_update) \
           SELECT i.id, $2, $1, NULL, i.owner_type, i.owner_id, i.\"type\", i.text, i.medias, \
             i.seq, i.change_seq, 0, \
             timestamptz 'epoch' + i.tm * interval '1 microsecond', \
             timestamptz 'epoch' + i.tm * interval '1 microsecond' \
           FROM c, i \
         ), r AS ( \
           INSERT INTO read_states (talk_id, agent_id, customer_id, last_read_seq) \
           SELECT $1, i.reader, $2, max(i.seq) FROM c, i \
           WHERE i.reader IS NOT NULL GROUP BY i.reader \
           ON CONFLICT (talk_id, agent_id) DO UPDATE \
           SET last_read_seq = GREATEST(read_states.last_read_seq, excluded.last_read_seq) \
         ), o AS ( \
           INSERT INTO outbox (event_id, subject, traceparent, payload, created_at) \
           SELECT e.event_id, e.subject, e.traceparent, decode(e.payload, 'hex'), now() \
           FROM c, jsonb_array_elements($8::jsonb) WITH ORDINALITY AS x(v, n), \
             jsonb_to_record(x.v) AS e(event_id text, subject text, traceparent text, payload text) \
           ORDER BY x.n \
         ), k AS ( \
           INSERT INTO idempotency (scope, \"key\", request_hash, response, created_at) \
           SELECT k.scope, k.key, k.request_hash, decode(k.response, 'hex'), now() \
           FROM c, jsonb_to_recordset($9::jsonb) AS k(scope text, key text, request_hash text, \
             response text) \
         ) \
         SELECT count(*) AS written FROM c";
    let values = vec![
        before.talk_id.into(),
        before.customer_id.into(),
        after.last_seq.into(),
        after.last_change.into(),
        after.last_tm_create.into(),
        before.last_change.into(),
        serde_json::Value::Array(input).into(),
        outbox.into(),
        claims.into(),
    ];
    let written = db
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "written"))
        .transpose()?;
    Ok(written == Some(1))
}

/// Fills in the numbers of `items`, the last messages counted by `after`.
fn renumber(items: &mut [Append], after: &talk_counter::Model) {
    let mut later_changes = 0;
    for (later, item) in (0..).zip(items.iter_mut().rev()) {
        later_changes += item.changes;
        let tm_create =
            time::from_micros(after.last_tm_create - later).unwrap_or(item.row.tm_create);
        item.row.seq = after.last_seq - later;
        item.row.change_seq = after.last_change - later_changes + 1;
        item.row.tm_create = tm_create;
        item.row.tm_update = tm_create;
    }
}
