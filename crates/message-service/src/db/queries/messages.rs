//! Queries on `messages`, every one scoped to a customer.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement, Value,
};
use talk_types::{AgentId, CustomerId, MessageId, TalkId, time::Timestamp};

use super::{for_update, placeholder};
use crate::db::entities::message::{ActiveModel, Column, Entity, Model};

/// A message of `customer`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: MessageId,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::CustomerId.eq(customer))
        .one(db)
        .await
}

/// `(id, tm_delete)` of the deleted messages of `customer` among `ids`.
pub async fn deleted_among<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    ids: &[MessageId],
) -> Result<Vec<(MessageId, Timestamp)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::TmDelete)
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(Column::TmDelete.is_not_null())
        .into_tuple::<(MessageId, Timestamp)>()
        .all(db)
        .await
}

/// Like [`find`], locking the row until the transaction ends.
pub async fn find_for_update<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    id: MessageId,
) -> Result<Option<Model>, DbErr> {
    let query = Entity::find_by_id(id).filter(Column::CustomerId.eq(customer));
    for_update(db, query).one(db).await
}

/// Saves the changed columns of `row`.
pub async fn update<C: ConnectionTrait>(db: &C, row: ActiveModel) -> Result<Model, DbErr> {
    sea_orm::ActiveModelTrait::update(row, db).await
}

/// Counts a new reply on `parent` and stamps it with change number `change`.
pub async fn add_reply<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    parent: MessageId,
    change: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::ReplyCount, Expr::col(Column::ReplyCount).add(1))
        .col_expr(Column::ChangeSeq, Expr::val(change))
        .filter(Column::Id.eq(parent))
        .filter(Column::CustomerId.eq(customer))
        .exec(db)
        .await?;
    Ok(())
}

/// One page of `talk`'s messages, newest first, created strictly before `before`.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    before: Option<Timestamp>,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TalkId.eq(talk));
    if let Some(before) = before {
        query = query.filter(Column::TmCreate.lt(before));
    }
    query
        .order_by_desc(Column::TmCreate)
        .order_by_desc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// `talk`'s messages changed after change number `after`, in change order.
pub async fn changes<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    after: i64,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TalkId.eq(talk))
        .filter(Column::ChangeSeq.gt(after))
        .order_by_asc(Column::ChangeSeq)
        .order_by_asc(Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// `root` and every reply under it, at any depth, in seq order.
pub async fn thread<C: ConnectionTrait>(db: &C, root: &Model) -> Result<Vec<Model>, DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2, p3) = (
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3),
    );
    let sql = format!(
        "WITH RECURSIVE thread(id) AS ( \
           SELECT id FROM messages WHERE id = {p1} AND customer_id = {p2} AND talk_id = {p3} \
           UNION ALL \
           SELECT m.id FROM messages m JOIN thread t ON m.parent_id = t.id \
           WHERE m.customer_id = {p2} AND m.talk_id = {p3} \
         ) \
         SELECT * FROM messages WHERE id IN (SELECT id FROM thread) ORDER BY seq"
    );
    let values: [Value; 3] = [root.id.into(), root.customer_id.into(), root.talk_id.into()];
    Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await
}

#[derive(Debug, FromQueryResult)]
struct ThreadRow {
    root: Option<MessageId>,
    replies: i64,
}

/// The top message of the thread `message` (of `customer`'s `talk`) is in,
/// and how many replies that thread has at any depth: up the parents to the
/// top, then down every reply under it. None when there is no such message.
pub async fn thread_size<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    talk: TalkId,
    message: MessageId,
) -> Result<Option<(MessageId, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let (p1, p2, p3) = (
        placeholder(backend, 1),
        placeholder(backend, 2),
        placeholder(backend, 3),
    );
    let sql = format!(
        "WITH RECURSIVE up(id, parent_id) AS ( \
           SELECT id, parent_id FROM messages \
           WHERE id = {p1} AND customer_id = {p2} AND talk_id = {p3} \
           UNION ALL \
           SELECT m.id, m.parent_id FROM messages m JOIN up ON m.id = up.parent_id \
           WHERE m.customer_id = {p2} AND m.talk_id = {p3} \
         ), down(id) AS ( \
           SELECT id FROM up WHERE parent_id IS NULL \
           UNION ALL \
           SELECT m.id FROM messages m JOIN down ON m.parent_id = down.id \
           WHERE m.customer_id = {p2} AND m.talk_id = {p3} \
         ) \
         SELECT (SELECT id FROM up WHERE parent_id IS NULL) AS root, \
           COUNT(*) - 1 AS replies FROM down"
    );
    let values: [Value; 3] = [message.into(), customer.into(), talk.into()];
    let row = ThreadRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .one(db)
        .await?;
    Ok(row.and_then(|r| Some((r.root?, r.replies))))
}

#[derive(Debug, FromQueryResult)]
struct UnreadRow {
    talk_id: TalkId,
    unread: i64,
}

/// Per talk: messages after `agent`'s read position, neither by `agent` nor deleted.
pub async fn unread<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    agent: AgentId,
    talks: &[TalkId],
) -> Result<Vec<(TalkId, i64)>, DbErr> {
    if talks.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let list: Vec<String> = (0..talks.len())
        .map(|i| placeholder(backend, i + 3))
        .collect();
    let sql = format!(
        "SELECT m.talk_id AS talk_id, COUNT(*) AS unread FROM messages m \
         LEFT JOIN read_states r ON r.talk_id = m.talk_id AND r.agent_id = {a} \
         WHERE m.customer_id = {c} AND m.talk_id IN ({list}) \
           AND m.seq > COALESCE(r.last_read_seq, 0) AND m.owner_id <> {a} \
           AND m.tm_delete IS NULL \
         GROUP BY m.talk_id",
        a = placeholder(backend, 1),
        c = placeholder(backend, 2),
        list = list.join(", "),
    );
    let mut values: Vec<Value> = vec![agent.0.into(), customer.into()];
    values.extend(talks.iter().map(|t| Value::from(*t)));
    let rows = UnreadRow::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.talk_id, r.unread)).collect())
}
