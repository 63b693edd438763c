//! The caps on what clients grow in message-service (`docs/API.md`,
//! "Limits"): text and medias of a message (`validate.rs`), distinct emoji
//! on a message (`reactions.rs`), previous texts kept (`edit.rs`), and
//! replies per thread, counted here.
//!
//! A thread is a top-level message and every reply under it, at any depth;
//! `GET /messages/{id}/thread` answers all of it at once, so its size is
//! what is capped. A reply counts the thread it joins after taking the
//! talk's counter lock, which every write to the talk takes before writing:
//! no concurrent reply is missed, and the cap holds.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;
use talk_config::Config;
use talk_store::db_error;
use talk_types::{ApiError, CustomerId, MessageId, Reason, TalkId};

use crate::db::queries::{append, messages};

/// message-service's caps that an operator sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most replies in one thread, at any depth.
    pub thread_replies: u32,
}

impl Limits {
    /// The caps `config` sets (`TALK_MAX_THREAD_REPLIES`).
    pub fn from_config(config: &Config) -> Self {
        Self {
            thread_replies: config.max_thread_replies,
        }
    }
}

impl Default for Limits {
    /// The defaults of the configuration.
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// The replies of the threads that posts to one talk join, counted as the
/// posts are checked (in one transaction).
pub(super) struct Threads {
    max: u32,
    customer: CustomerId,
    talk: TalkId,
    locked: bool,
    /// The top message of each parent's thread.
    roots: HashMap<MessageId, MessageId>,
    /// Replies per thread, by its top message, the batch's own included.
    replies: HashMap<MessageId, i64>,
}

impl Threads {
    /// Counts for posts to `customer`'s `talk` under `limits`.
    pub(super) fn new(limits: &Limits, customer: CustomerId, talk: TalkId) -> Self {
        Self {
            max: limits.thread_replies,
            customer,
            talk,
            locked: false,
            roots: HashMap::new(),
            replies: HashMap::new(),
        }
    }

    /// Counts a reply to `parent` (a message of the talk, locked already) in
    /// its thread; the inner error is the reply's own refusal, 400
    /// TOO_MANY_REPLIES when its thread is full.
    pub(super) async fn count_reply<C: ConnectionTrait>(
        &mut self,
        txn: &C,
        parent: MessageId,
    ) -> Result<Result<(), ApiError>, ApiError> {
        if !self.locked {
            append::lock(txn, self.customer, self.talk)
                .await
                .map_err(db_error)?;
            self.locked = true;
        }
        let root = match self.roots.get(&parent) {
            Some(root) => *root,
            None => {
                let (root, stored) = messages::thread_size(txn, self.customer, self.talk, parent)
                    .await
                    .map_err(db_error)?
                    .ok_or_else(ApiError::internal)?;
                self.roots.insert(parent, root);
                self.replies.entry(root).or_insert(stored);
                root
            }
        };
        let replies = self.replies.entry(root).or_default();
        if *replies >= i64::from(self.max) {
            return Ok(Err(ApiError::of(
                Reason::TooManyReplies,
                format!("A thread can have at most {} replies.", self.max),
            )));
        }
        *replies += 1;
        Ok(Ok(()))
    }
}
