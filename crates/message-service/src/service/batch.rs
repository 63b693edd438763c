//! Group commit of posts. Posts to one talk that arrive while an earlier batch
//! of that talk is being written wait, and are then written together, in
//! arrival order, in one transaction: one commit (one WAL flush) and one
//! outbox insert for all of them. Posts to one talk serialise on its counter
//! row lock anyway (that is what numbers them gaplessly in commit order), so a
//! busy talk's rate is batches per second times the batch size instead of one
//! post per lock hold. An idle talk's post is written at once, alone.
//!
//! Posts that carry an `Idempotency-Key` are written on their own, with their
//! key claimed in the same transaction (`post.rs`).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::TransactionTrait;
use talk_proto::Message;
use talk_store::db_error;
use talk_telemetry::metrics;
use talk_types::{ApiError, CustomerId, TalkId};
use tokio::sync::oneshot;

use super::Messages;
use super::post::{Draft, append_posts};

/// The most posts one transaction writes.
const MAX_BATCH: usize = 64;

/// A post waiting for its batch, and where its answer goes.
struct Job {
    draft: Draft,
    answer: oneshot::Sender<Result<Message, ApiError>>,
}

/// What batches are made of: posts to one talk (of one customer).
type Key = (CustomerId, TalkId);

/// The posts waiting, by talk. A talk has an entry while its writer runs.
#[derive(Default)]
pub(super) struct Batches {
    waiting: Mutex<HashMap<Key, VecDeque<Job>>>,
}

impl Batches {
    /// Writes `draft` with whatever else is waiting for its talk and answers
    /// once its batch is committed.
    pub(super) async fn post(
        self: &Arc<Self>,
        messages: &Messages,
        draft: Draft,
    ) -> Result<Message, ApiError> {
        let key = (draft.customer, draft.talk);
        let (answer, answered) = oneshot::channel();
        let job = Job { draft, answer };
        let first = match self.lock().entry(key) {
            Entry::Occupied(mut waiting) => {
                waiting.get_mut().push_back(job);
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(VecDeque::new());
                Some(job)
            }
        };
        if let Some(job) = first {
            // The writer is a task of its own: a caller that goes away must
            // not take the others' batch with it.
            let writer = Writer {
                batches: self.clone(),
                key,
            };
            tokio::spawn(writer.run(messages.clone(), vec![job]));
        }
        answered.await.unwrap_or_else(|_| Err(ApiError::internal()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<Job>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes one talk's batches until nobody waits.
struct Writer {
    batches: Arc<Batches>,
    key: Key,
}

impl Writer {
    async fn run(self, messages: Messages, mut batch: Vec<Job>) {
        loop {
            write(&messages, batch).await;
            let mut waiting = self.batches.lock();
            let Some(queue) = waiting.get_mut(&self.key).filter(|q| !q.is_empty()) else {
                waiting.remove(&self.key);
                return;
            };
            let n = queue.len().min(MAX_BATCH);
            batch = queue.drain(..n).collect();
        }
    }
}

impl Drop for Writer {
    /// A writer that panicked leaves no entry behind: the posts still
    /// waiting are answered with an internal error, later ones start afresh.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.batches.lock().remove(&self.key);
        }
    }
}

/// Writes `batch` in one transaction and answers every post. When a statement
/// fails before the commit, nothing was written and each post is written again
/// on its own, so that one bad post fails alone with its own error.
async fn write(messages: &Messages, batch: Vec<Job>) {
    metrics::POST_BATCH_SIZE.observe(batch.len() as f64);
    let drafts: Vec<Draft> = batch.iter().map(|job| job.draft.clone()).collect();
    let answers = match commit(messages, &drafts).await {
        Ok(posted) => posted,
        Err(Failed::BeforeCommit(_)) if batch.len() > 1 => {
            let mut answers = Vec::with_capacity(batch.len());
            for draft in drafts {
                answers.push(match commit(messages, std::slice::from_ref(&draft)).await {
                    Ok(mut posted) => posted.pop().unwrap_or_else(|| Err(ApiError::internal())),
                    Err(Failed::BeforeCommit(e) | Failed::AtCommit(e)) => Err(e),
                });
            }
            answers
        }
        Err(Failed::BeforeCommit(e) | Failed::AtCommit(e)) => vec![Err(e); batch.len()],
    };
    for (job, answer) in batch.into_iter().zip(answers) {
        // The caller may have gone; its post stands.
        let _ = job.answer.send(answer);
    }
}

/// Why a batch was not written.
enum Failed {
    /// Rolled back: nothing of the batch was written.
    BeforeCommit(ApiError),
    /// The commit failed: whether it took effect is unknown.
    AtCommit(ApiError),
}

async fn commit(
    messages: &Messages,
    drafts: &[Draft],
) -> Result<Vec<Result<Message, ApiError>>, Failed> {
    let txn = messages
        .db
        .begin()
        .await
        .map_err(|e| Failed::BeforeCommit(db_error(e)))?;
    let posted = append_posts(&txn, &messages.outbox, drafts)
        .await
        .map_err(Failed::BeforeCommit)?;
    txn.commit()
        .await
        .map_err(|e| Failed::AtCommit(db_error(e)))?;
    messages.outbox.notify();
    Ok(posted)
}
