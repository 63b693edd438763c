//! Group commit of posts. Posts to one talk that arrive while an earlier batch
//! of that talk is being checked and written wait, and are then checked
//! together (one `CheckAccessMany`) and written together, in arrival order, in
//! one transaction: one commit (one WAL flush) and one outbox insert for all
//! of them. Posts to one talk serialise on its counter
//! row lock anyway (that is what numbers them gaplessly in commit order), so a
//! busy talk's rate is batches per second times the batch size instead of one
//! post per lock hold. An idle talk's post is written at once, alone.
//!
//! On PostgreSQL the batch writer remembers each talk's counters after its
//! last batch. A batch without replies then numbers its posts itself and
//! writes them, the talk's new counters and the outbox rows in one statement
//! that commits on its own, on condition that the counters are still the
//! remembered ones (one round trip instead of begin, insert, outbox, commit).
//! When another write of the talk came between (an edit, a reaction, a system
//! message, another replica), the statement writes nothing and the batch is
//! written the usual way, which learns the counters again.
//!
//! A post that carries an `Idempotency-Key` joins the batch like any other:
//! its idempotency record (key and answer) is written with it, in the same
//! transaction or statement, by an insert that fails if the key is recorded
//! already — a retry, or two requests with one key racing. Then the batch is
//! written again post by post, each keyed post claiming its key first, so a
//! retry replays the first answer (and waits for it if it is not committed
//! yet). Retries are rare; the common post pays one insert, no lookup. A
//! retry the access check refuses (its agent left since) replays its
//! recorded answer all the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::error::RuntimeErr;
use sea_orm::{DatabaseBackend, DbErr, TransactionTrait};
use talk_proto::Message;
use talk_store::{Begun, db_error, idempotency};
use talk_telemetry::metrics;
use talk_types::{ApiError, CustomerId, TalkId};

use super::Messages;
use super::access::writable;
use super::post::{self, Draft, append_posts};
use super::rounds::Rounds;
use crate::db::entities::talk_counter;

/// The most posts one transaction writes.
const MAX_BATCH: usize = 64;
/// The most talks whose counters are remembered (then they are all forgotten).
const MAX_KNOWN: usize = 10_000;

/// What batches are made of: posts to one talk (of one customer).
pub(super) type Key = (CustomerId, TalkId);

/// A post waiting for its batch: who posts (to check) and what.
type Post = (talk_proto::Caller, Draft);

/// The posts waiting, by talk, and the counters of the talks written lately.
pub(super) struct Batches {
    rounds: Arc<Rounds<Key, Post, Result<Message, ApiError>>>,
    /// Each talk's counters after its last batch, as far as this process knows.
    known: Mutex<HashMap<Key, talk_counter::Model>>,
}

impl Default for Batches {
    fn default() -> Self {
        Self {
            rounds: Arc::new(Rounds::new(MAX_BATCH)),
            known: Mutex::default(),
        }
    }
}

impl Batches {
    /// Checks `caller`'s access and writes `draft` with whatever else is
    /// waiting for its talk; answers once its batch is committed.
    pub(super) async fn post(
        &self,
        messages: &Messages,
        caller: talk_proto::Caller,
        draft: Draft,
    ) -> Result<Message, ApiError> {
        let key = (draft.customer, draft.talk);
        let server = || {
            let messages = messages.clone();
            move |posts| {
                let messages = messages.clone();
                async move { check_and_write(&messages, key, posts).await }
            }
        };
        self.rounds
            .join(key, (caller, draft), server)
            .await
            .unwrap_or_else(|| Err(ApiError::internal()))
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<Key, talk_counter::Model>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, key: Key, counters: Option<talk_counter::Model>) {
        let mut known = self.known();
        match counters {
            Some(counters) => {
                if known.len() >= MAX_KNOWN && !known.contains_key(&key) {
                    known.clear();
                }
                known.insert(key, counters);
            }
            None => {
                known.remove(&key);
            }
        }
    }
}

/// Checks a batch of posts to one talk with one `CheckAccessMany` (the audience
/// of each post's event comes from its answer) and writes the ones allowed.
async fn check_and_write(
    messages: &Messages,
    key: Key,
    posts: Vec<Post>,
) -> Vec<Result<Message, ApiError>> {
    let (callers, drafts): (Vec<_>, Vec<_>) = posts.into_iter().unzip();
    let checks = messages.check_many(key.1, callers).await;
    let mut answers: Vec<Option<Result<Message, ApiError>>> = Vec::with_capacity(drafts.len());
    let mut allowed = Vec::with_capacity(drafts.len());
    for (check, mut draft) in checks.into_iter().zip(drafts) {
        match check.and_then(writable) {
            Ok(access) => {
                draft.audience = access.recent_member_ids;
                allowed.push(draft);
                answers.push(None);
            }
            Err(e) => answers.push(Some(replayed_or(messages, &draft, e).await)),
        }
    }
    let written = if allowed.is_empty() {
        Vec::new()
    } else {
        write(messages, key, allowed).await
    };
    post::fill(answers, written)
}

/// A refused post's answer: the recorded answer of its key if it is a retry
/// of a post that was written (a retry replays its first answer whatever the
/// talk's state is now), else `refusal`.
async fn replayed_or(
    messages: &Messages,
    draft: &Draft,
    refusal: ApiError,
) -> Result<Message, ApiError> {
    let Some(key) = &draft.key else {
        return Err(refusal);
    };
    match idempotency::lookup(&messages.db, key).await {
        Ok(Some(first)) => Ok(first),
        Ok(None) | Err(_) => Err(refusal),
    }
}

/// Writes a batch of posts to one talk and answers each: in one statement
/// when the talk's counters are known, else in one transaction. When a
/// statement fails before the commit, nothing was written and each post is
/// written again on its own, so that one bad post fails alone with its own
/// error (and a keyed post whose key is recorded replays its answer).
async fn write(
    messages: &Messages,
    key: Key,
    drafts: Vec<Draft>,
) -> Vec<Result<Message, ApiError>> {
    metrics::POST_BATCH_SIZE.observe(drafts.len() as f64);
    let batches = &messages.batches;
    let known = batches.known().get(&key).cloned().filter(|_| {
        messages.db.get_database_backend() == DatabaseBackend::Postgres
            && drafts.iter().all(|d| d.parent.is_none())
    });
    let mut written = None;
    if let Some(before) = known {
        match write_known(messages, &drafts, &before).await {
            Ok(Some((posted, after))) => {
                batches.remember(key, Some(after));
                return posted.into_iter().map(Ok).collect();
            }
            Ok(None) => batches.remember(key, None),
            Err(failed) => {
                batches.remember(key, None);
                written = Some(Err(failed));
            }
        }
    }
    let written = match written {
        Some(failed) => failed,
        None => commit(messages, &drafts).await,
    };
    match written {
        Ok((posted, counters)) => {
            batches.remember(key, counters);
            posted
        }
        Err(Failed::BeforeCommit(e)) if drafts.len() == 1 && drafts[0].key.is_none() => {
            vec![Err(e)]
        }
        Err(Failed::BeforeCommit(_)) => {
            let mut answers = Vec::with_capacity(drafts.len());
            for draft in drafts {
                answers.push(commit_alone(messages, draft).await);
            }
            answers
        }
        Err(Failed::AtCommit(e)) => vec![Err(e); drafts.len()],
    }
}

/// Writes posts without replies in one statement numbered from the talk's
/// counters `before`: the messages and the counters after them; Ok(None)
/// when nothing was written because the counters moved (or the statement
/// was refused). A key of the batch recorded already is
/// [`Failed::BeforeCommit`]; [`Failed::AtCommit`] when whether it was written
/// is unknown.
async fn write_known(
    messages: &Messages,
    drafts: &[Draft],
    before: &talk_counter::Model,
) -> Result<Option<(Vec<Message>, talk_counter::Model)>, Failed> {
    let written = post::write_drafts(&messages.db, &messages.outbox, drafts.to_vec(), before).await;
    match written {
        Ok(Some((_, posted, after))) => {
            messages.outbox.notify();
            post::count(&posted);
            Ok(Some((posted, after)))
        }
        Ok(None) => Ok(None),
        Err(e) if post::key_recorded(&e) => Err(Failed::BeforeCommit(post::key_in_progress())),
        Err(e) if refused(&e) => {
            tracing::warn!(error = %e, "one-statement post batch refused; writing it in a transaction");
            Ok(None)
        }
        Err(e) => Err(Failed::AtCommit(db_error(e))),
    }
}

/// Whether the database answered `e` (so the statement did not commit), or
/// it never reached the database.
fn refused(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => {
            matches!(**e, sea_orm::sqlx::Error::Database(_))
        }
        _ => false,
    }
}

/// Why a batch was not written.
enum Failed {
    /// Rolled back: nothing of the batch was written.
    BeforeCommit(ApiError),
    /// The commit failed: whether it took effect is unknown.
    AtCommit(ApiError),
}

/// Writes `drafts` in one transaction: the answers, and the talk's counters
/// after them if any was written.
async fn commit(
    messages: &Messages,
    drafts: &[Draft],
) -> Result<(Vec<Result<Message, ApiError>>, Option<talk_counter::Model>), Failed> {
    let txn = messages
        .db
        .begin()
        .await
        .map_err(|e| Failed::BeforeCommit(db_error(e)))?;
    let posted = append_posts(&txn, &messages.outbox, &messages.limits, drafts)
        .await
        .map_err(Failed::BeforeCommit)?;
    txn.commit()
        .await
        .map_err(|e| Failed::AtCommit(db_error(e)))?;
    messages.outbox.notify();
    Ok(posted)
}

/// Writes one post in a transaction of its own; a keyed post claims its key
/// first (a concurrent request with the same key waits for it), so a retry
/// racing its first request replays the first's answer.
async fn commit_alone(messages: &Messages, mut draft: Draft) -> Result<Message, ApiError> {
    let Some(key) = draft.key.take() else {
        let (mut posted, _) = commit(messages, std::slice::from_ref(&draft))
            .await
            .map_err(Failed::into_error)?;
        return posted.pop().unwrap_or_else(|| Err(ApiError::internal()));
    };
    let write = match messages.writes.begin_keyed(Some(key)).await? {
        Begun::Fresh(write) => write,
        Begun::Replay(message) => return Ok(message),
    };
    let (mut posted, _) = append_posts(
        write.txn(),
        &messages.outbox,
        &messages.limits,
        std::slice::from_ref(&draft),
    )
    .await?;
    let message = posted.pop().unwrap_or_else(|| Err(ApiError::internal()))?;
    write.commit(&message).await?;
    Ok(message)
}

impl Failed {
    fn into_error(self) -> ApiError {
        match self {
            Self::BeforeCommit(e) | Self::AtCommit(e) => e,
        }
    }
}
