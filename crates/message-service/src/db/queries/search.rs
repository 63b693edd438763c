//! The search of messages: full text (PostgreSQL `tsvector`, SQLite FTS5;
//! migration m0008) and substrings, within the talks a caller may read.

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Order,
    QueryFilter, QueryOrder, QuerySelect, Select,
};
use talk_types::time::Timestamp;
use talk_types::{AgentId, CustomerId, MessageId, TalkId};

use crate::db::entities::message::{Column, Entity, Model};

/// What to look for: an index query and substrings.
pub struct Matching<'a> {
    /// A `tsquery` on PostgreSQL, an FTS5 query on SQLite; None: no words.
    pub words: Option<&'a str>,
    /// Lowercase substrings the text must contain.
    pub substrings: &'a [String],
}

/// Which messages.
#[derive(Default)]
pub struct Filters {
    /// The talks searched (the ones the caller may read).
    pub talks: Vec<TalkId>,
    /// Only this agent's messages.
    pub author: Option<AgentId>,
    /// Only messages posted before.
    pub before: Option<Timestamp>,
    /// Only messages posted after.
    pub after: Option<Timestamp>,
    /// Only messages with (or without) medias.
    pub has_file: Option<bool>,
    /// Only messages in (or out of) a thread.
    pub in_thread: Option<bool>,
}

/// In which order, from where.
pub enum Sort {
    /// Newest first, strictly older than `(tm_create, id)`.
    Newest(Option<(Timestamp, MessageId)>),
    /// Best match first (then newest), skipping `offset`.
    Relevance(u64),
}

/// Up to `limit` live `normal` messages of `customer` matching `matching`
/// and `filters`, in `sort` order.
pub async fn search<C: ConnectionTrait>(
    db: &C,
    customer: CustomerId,
    matching: &Matching<'_>,
    filters: &Filters,
    sort: &Sort,
    limit: u64,
) -> Result<Vec<Model>, DbErr> {
    if filters.talks.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut select = filtered(customer, filters);
    if let Some(words) = matching.words {
        select = select.filter(word_match(backend, words));
    }
    let contains = match backend {
        DatabaseBackend::Postgres => r"lower(messages.text) LIKE $1 ESCAPE '\'",
        _ => r"lower(messages.text) LIKE ? ESCAPE '\'",
    };
    for needle in matching.substrings {
        let pattern = format!("%{}%", escape_like(needle));
        select = select.filter(Expr::cust_with_values(contains, [pattern]));
    }
    let select = match sort {
        Sort::Newest(Some((tm, id))) => select.filter(
            Condition::any().add(Column::TmCreate.lt(*tm)).add(
                Condition::all()
                    .add(Column::TmCreate.eq(*tm))
                    .add(Column::Id.lt(*id)),
            ),
        ),
        Sort::Newest(None) => select,
        Sort::Relevance(offset) => {
            let select = match matching.words {
                Some(words) => select.order_by(rank(backend, words), Order::Desc),
                None => select,
            };
            select.offset(*offset)
        }
    };
    select
        .order_by_desc(Column::TmCreate)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Live `normal` messages of `customer` in `filters`.
fn filtered(customer: CustomerId, filters: &Filters) -> Select<Entity> {
    let mut select = Entity::find()
        .filter(Column::CustomerId.eq(customer))
        .filter(Column::TalkId.is_in(filters.talks.iter().copied()))
        .filter(Column::TmDelete.is_null())
        .filter(Column::Kind.eq("normal"));
    if let Some(author) = filters.author {
        select = select
            .filter(Column::OwnerType.eq("agent"))
            .filter(Column::OwnerId.eq(author.0));
    }
    if let Some(before) = filters.before {
        select = select.filter(Column::TmCreate.lt(before));
    }
    if let Some(after) = filters.after {
        select = select.filter(Column::TmCreate.gt(after));
    }
    match filters.has_file {
        Some(true) => select = select.filter(Column::Medias.ne("[]")),
        Some(false) => select = select.filter(Column::Medias.eq("[]")),
        None => {}
    }
    match filters.in_thread {
        Some(true) => {
            select = select.filter(
                Condition::any()
                    .add(Column::ParentId.is_not_null())
                    .add(Column::ReplyCount.gt(0)),
            );
        }
        Some(false) => {
            select = select
                .filter(Column::ParentId.is_null())
                .filter(Column::ReplyCount.eq(0));
        }
        None => {}
    }
    select
}

/// The text matches the index query `words`.
fn word_match(backend: DatabaseBackend, words: &str) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust_with_values(
            "messages.search @@ to_tsquery('simple'::regconfig, $1)",
            [words.to_owned()],
        ),
        _ => Expr::cust_with_values(
            "messages.rowid IN (SELECT rowid FROM message_search WHERE message_search MATCH ?)",
            [words.to_owned()],
        ),
    }
}

/// How well the text matches `words`: higher is better.
fn rank(backend: DatabaseBackend, words: &str) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust_with_values(
            "ts_rank(messages.search, to_tsquery('simple'::regconfig, $1))",
            [words.to_owned()],
        ),
        // bm25 is lower for better matches.
        _ => Expr::cust_with_values(
            "-(SELECT bm25(message_search) FROM message_search \
             WHERE message_search MATCH ? AND message_search.rowid = messages.rowid)",
            [words.to_owned()],
        ),
    }
}

/// `text` with LIKE's wildcards and escape character escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
