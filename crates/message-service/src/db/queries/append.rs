//! Appending messages to their talk. One routine numbers them ([`number`]:
//! each takes the talk's next seq, its change numbers, and a `tm_create` one
//! microsecond past the previous message at least), from the talk's counters
//! as they were before; one routine writes them ([`write`]): the counters
//! after, the messages, the authors' read positions, their outbox rows and
//! idempotency records — on condition that the counters are still the ones
//! the numbers came from. On PostgreSQL that is one statement
//! (`append.sql`), on SQLite a few in the caller's transaction.
//!
//! A transaction takes the counters' row lock first ([`lock`]), so the
//! condition holds; a batch whose counters the writer remembers sends the
//! statement on its own, and it writes nothing if anyone wrote in between.

use std::sync::LazyLock;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, Statement,
};
use serde_json::json;
use talk_events::EventEnvelope;
use talk_store::{Outbox, idempotency};
use talk_types::{AgentId, CustomerId, TalkId, time};

use super::{counters, mentions, read_states};
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

/// What [`write`] writes: messages of one talk numbered by [`number`] from
/// `before` to `after`, with their events and idempotency records.
pub struct Batch<'a> {
    /// The messages, numbered.
    pub items: &'a [Append],
    /// The talk's counters the numbers came from.
    pub before: &'a talk_counter::Model,
    /// The talk's counters after the messages.
    pub after: &'a talk_counter::Model,
    /// Their `message_created` events (staged in the outbox).
    pub events: &'a [EventEnvelope],
    /// Their idempotency records (a key recorded already fails the write).
    pub claims: &'a [(idempotency::Key, Vec<u8>)],
}

/// The talk's counters, created if it has none, with their row locked until
/// the transaction ends (a bump by nothing).
pub async fn lock<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
) -> Result<talk_counter::Model, DbErr> {
    let nothing = counters::Bump {
        message_at: None,
        changes: 0,
    };
    counters::bump(db, customer, talk, nothing).await
}

/// Numbers `items` as the talk's next messages after counters `before`, and
/// returns the counters after them.
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
    after
}

/// `append.sql` with talk-store's outbox and idempotency inserts.
static APPEND: LazyLock<String> = LazyLock::new(|| {
    include_str!("append.sql")
        .replace("{outbox}", &talk_store::outbox::insert_from_json(8, "c"))
        .replace("{claims}", &idempotency::insert_from_json(9, "c"))
});

/// Writes `batch` if the talk's counters are still `batch.before` (every
/// write of a talk takes a change number, so an unchanged `last_change`
/// means nobody wrote since); Ok(false): they were not, and nothing was
/// written. On PostgreSQL one statement, which commits on its own outside a
/// transaction; on SQLite, call it in a transaction.
pub async fn write<C: ConnectionTrait>(
    db: &C,
    outbox: &Outbox,
    batch: Batch<'_>,
) -> Result<bool, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return write_each(db, outbox, batch).await;
    }
    let Batch {
        items,
        before,
        after,
        events,
        claims,
    } = batch;
    let input: Vec<_> = items
        .iter()
        .map(|Append { row, reader, .. }| {
            json!({
                "id": row.id,
                "parent_id": row.parent_id,
                "owner_type": row.owner_type,
                "owner_id": row.owner_id,
                "type": row.kind,
                "text": row.text,
                "medias": row.medias,
                "seq": row.seq,
                "change_seq": row.change_seq,
                "tm": time::to_micros(&row.tm_create),
                "reader": reader,
                "mentions": row.mentions,
            })
        })
        .collect();
    let values = vec![
        before.talk_id.into(),
        before.customer_id.into(),
        after.last_seq.into(),
        after.last_change.into(),
        after.last_tm_create.into(),
        before.last_change.into(),
        serde_json::Value::Array(input).into(),
        outbox.rows_json(events).into(),
        idempotency::rows_json(claims).into(),
    ];
    let written = db
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            APPEND.as_str(),
            values,
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "written"))
        .transpose()?;
    Ok(written == Some(1))
}

/// [`write`] in several statements (SQLite).
async fn write_each<C: ConnectionTrait>(
    db: &C,
    outbox: &Outbox,
    batch: Batch<'_>,
) -> Result<bool, DbErr> {
    use talk_counter::Column;
    let (before, after) = (batch.before, batch.after);
    let moved = talk_counter::Entity::update_many()
        .col_expr(Column::LastSeq, Expr::value(after.last_seq))
        .col_expr(Column::LastChange, Expr::value(after.last_change))
        .col_expr(Column::LastTmCreate, Expr::value(after.last_tm_create))
        .filter(Column::TalkId.eq(before.talk_id))
        .filter(Column::CustomerId.eq(before.customer_id))
        .filter(Column::LastChange.eq(before.last_change))
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(false);
    }
    let rows = batch.items.iter().map(|item| {
        // Every column set, as `insert` needs.
        sea_orm::ActiveModelTrait::reset_all(sea_orm::IntoActiveModel::into_active_model(
            item.row.clone(),
        ))
    });
    message::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    for item in batch.items {
        mentions::insert(db, &item.row).await?;
    }
    for item in batch.items {
        if let Some(reader) = item.reader {
            let (customer, talk) = (before.customer_id, before.talk_id);
            read_states::advance(db, customer, talk, reader, item.row.seq).await?;
        }
    }
    outbox
        .stage(db, batch.events.to_vec())
        .await
        .map_err(|e| DbErr::Custom(e.message))?;
    idempotency::record(db, batch.claims).await?;
    Ok(true)
}
