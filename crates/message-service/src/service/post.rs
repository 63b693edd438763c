//! Posting messages, and the insert every new message (system ones included) goes through.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use talk_events::EventEnvelope;
use talk_events::kinds::{MessageCreated, envelope};
use talk_proto::{Media, Message, WriteOptions};
use talk_store::{Outbox, db_error, idempotency};
use talk_telemetry::metrics;
use talk_types::{AgentId, ApiError, CustomerId, MessageId, Reason, TalkId, time};
use uuid::Uuid;

use super::limits::{Limits, Threads};
use super::{Caller, Messages, Operation, Scope, validate};
use crate::db::entities::{message, talk_counter};
use crate::db::queries::{append, messages};
use crate::wire;

/// A message as an agent posts it.
#[derive(Clone, Debug, Default)]
pub struct NewMessage {
    /// The talk.
    pub talk: TalkId,
    /// Requested type (`""` means `normal`).
    pub kind: String,
    /// The text.
    pub text: String,
    /// The message it replies to.
    pub parent: Option<MessageId>,
    /// Attachments, stored as sent.
    pub medias: Vec<Media>,
}

/// A message about to be written by [`insert`].
#[derive(Clone)]
pub(super) struct Draft {
    pub customer: CustomerId,
    pub talk: TalkId,
    pub parent: Option<MessageId>,
    pub owner_type: &'static str,
    pub owner_id: Uuid,
    pub kind: &'static str,
    pub text: String,
    pub medias: Vec<Media>,
    pub traceparent: String,
    /// Agent ids that must receive `message_created` (the envelope's `audience`):
    /// the talk's active participants as the write's access check saw them.
    /// Empty for system messages (see `system.rs`).
    pub audience: Vec<String>,
    /// The post's idempotency record, when it carries a key: written with
    /// its answer in the same transaction (or statement) as the message.
    pub key: Option<idempotency::Key>,
    /// Its mentions as stored (`[]`: none).
    pub mentions: String,
}

/// Writes a new message: takes the talk's next seq and change number (its row
/// lock orders the talk's writes), counts the reply on the parent, moves the
/// author's read position and stages `message_created`. The parent, if any,
/// must already be locked by the caller.
pub(super) async fn insert<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    draft: Draft,
) -> Result<Message, ApiError> {
    let (mut messages, _) = append_drafts(txn, outbox, vec![draft]).await?;
    messages.pop().ok_or_else(ApiError::internal)
}

/// What a new message's `message_created` needs besides the message: its
/// traceparent and audience.
pub(super) type Announce = (String, Vec<String>);

/// The rows of new messages, not yet numbered, and what their events need.
pub(super) fn appends(drafts: Vec<Draft>) -> (Vec<append::Append>, Vec<Announce>) {
    let now = time::now();
    drafts
        .into_iter()
        .map(|draft| {
            let Draft {
                customer,
                talk,
                parent,
                owner_type,
                owner_id,
                kind,
                text,
                medias,
                traceparent,
                audience,
                key: _,
                mentions,
            } = draft;
            let item = append::Append {
                row: message::Model {
                    id: MessageId::new(),
                    customer_id: customer,
                    talk_id: talk,
                    parent_id: parent,
                    owner_type: owner_type.to_owned(),
                    owner_id,
                    kind: kind.to_owned(),
                    text,
                    medias: wire::medias_json(medias),
                    seq: 0,
                    change_seq: 0,
                    reply_count: 0,
                    tm_create: now,
                    tm_update: now,
                    tm_delete: None,
                    mentions,
                },
                changes: if parent.is_some() { 2 } else { 1 },
                reader: (owner_type == "agent").then_some(AgentId(owner_id)),
            };
            (item, (traceparent, audience))
        })
        .unzip()
}

/// The messages and `message_created` events of appended rows.
pub(super) fn created(
    rows: Vec<message::Model>,
    announced: Vec<Announce>,
) -> (Vec<Message>, Vec<EventEnvelope>) {
    rows.into_iter()
        .zip(announced)
        .map(|(row, (traceparent, audience))| {
            let (customer, talk) = (row.customer_id, row.talk_id);
            let message = wire::message(row, &[]);
            let mut event = envelope(MessageCreated(message.clone()), customer, talk, traceparent);
            event.audience = audience;
            (message, event)
        })
        .unzip()
}

/// Counts written messages in the metrics.
pub(super) fn count(messages: &[Message]) {
    for message in messages {
        metrics::MESSAGES_POSTED
            .with_label_values(&[message.r#type.as_str()])
            .inc();
    }
}

/// Numbers `drafts`, messages of one talk, after the talk's counters
/// `before` and writes them with their events and idempotency records
/// ([`append::write`]): the rows and messages written and the counters
/// after them, or None when the counters had moved (nothing was written).
/// Replies still have to be counted on their parents.
pub(super) async fn write_drafts<C: ConnectionTrait>(
    db: &C,
    outbox: &Outbox,
    drafts: Vec<Draft>,
    before: &talk_counter::Model,
) -> Result<Option<(Vec<message::Model>, Vec<Message>, talk_counter::Model)>, DbErr> {
    let keys: Vec<_> = drafts.iter().map(|d| d.key.clone()).collect();
    let (mut items, announced) = appends(drafts);
    let after = append::number(&mut items, before);
    let rows: Vec<_> = items.iter().map(|item| item.row.clone()).collect();
    let (messages, events) = created(rows.clone(), announced);
    let claims = answered(keys, &messages);
    let batch = append::Batch {
        items: &items,
        before,
        after: &after,
        events: &events,
        claims: &claims,
    };
    let written = append::write(db, outbox, batch).await?;
    Ok(written.then_some((rows, messages, after)))
}

/// [`insert`] for messages of one talk, in order, in `txn`: takes the
/// talk's counter lock, writes them, counts replies on their parents.
/// Answers the messages and the talk's counters after.
async fn append_drafts<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    drafts: Vec<Draft>,
) -> Result<(Vec<Message>, talk_counter::Model), ApiError> {
    let Some(first) = drafts.first() else {
        return Err(ApiError::internal());
    };
    let (customer, talk) = (first.customer, first.talk);
    let before = append::lock(txn, customer, talk).await.map_err(db_error)?;
    let written = write_drafts(txn, outbox, drafts, &before)
        .await
        .map_err(|e| {
            if key_recorded(&e) {
                key_in_progress()
            } else {
                db_error(e)
            }
        })?;
    // The counters are locked: they cannot have moved.
    let (rows, messages, after) = written.ok_or_else(ApiError::internal)?;
    for row in &rows {
        if let Some(parent) = row.parent_id {
            // The reply's second change number is the parent's.
            messages::add_reply(txn, customer, parent, row.change_seq + 1)
                .await
                .map_err(db_error)?;
        }
    }
    count(&messages);
    Ok((messages, after))
}

/// Writes posts in `txn`, in order, with one statement for all of them
/// (with their outbox rows and idempotency records); a post whose parent is
/// not a message of its talk, or whose thread has its most replies
/// (`limits`), is refused alone. The parents are locked first, in id order,
/// before the talk's counter row (the order edits take them in). Also
/// returns the talk's counters after the posts, if any was written.
pub(super) async fn append_posts(
    txn: &DatabaseTransaction,
    outbox: &Outbox,
    limits: &Limits,
    drafts: &[Draft],
) -> Result<(Vec<Result<Message, ApiError>>, Option<talk_counter::Model>), ApiError> {
    let mut parents: Vec<_> = drafts.iter().filter_map(|d| d.parent).collect();
    parents.sort_unstable();
    parents.dedup();
    let mut talk_of = std::collections::HashMap::new();
    for parent in parents {
        if let Some(row) = messages::find_for_update(txn, drafts[0].customer, parent)
            .await
            .map_err(db_error)?
        {
            talk_of.insert(parent, row.talk_id);
        }
    }
    let mut answers = Vec::with_capacity(drafts.len());
    let mut writable = Vec::with_capacity(drafts.len());
    let mut threads = Threads::new(limits, drafts[0].customer, drafts[0].talk);
    for draft in drafts {
        let refused = match draft.parent {
            None => None,
            Some(parent) if talk_of.get(&parent) != Some(&draft.talk) => Some(invalid_parent()),
            Some(parent) => threads.count_reply(txn, parent).await?.err(),
        };
        match refused {
            None => {
                writable.push(draft.clone());
                answers.push(None);
            }
            Some(e) => answers.push(Some(Err(e))),
        }
    }
    let mut written = Vec::new();
    let mut counters = None;
    if !writable.is_empty() {
        let (messages, after) = append_drafts(txn, outbox, writable).await?;
        written = messages.into_iter().map(Ok).collect();
        counters = Some(after);
    }
    let answers = fill(answers, written);
    Ok((answers, counters))
}

/// Whether a write failed because one of its idempotency keys is recorded
/// already (a retry, or a concurrent request with the key): the caller
/// writes each post again on its own, claiming first.
pub(super) fn key_recorded(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// What a post whose key was recorded meanwhile answers, if it is not written
/// again on its own.
pub(super) fn key_in_progress() -> ApiError {
    ApiError::of(
        Reason::IdempotencyKeyInProgress,
        "Another request with this Idempotency-Key is in progress.",
    )
}

/// The idempotency records of written posts: each post's key (if any) with
/// its answer.
pub(super) fn answered(
    keys: Vec<Option<idempotency::Key>>,
    messages: &[Message],
) -> Vec<(idempotency::Key, Vec<u8>)> {
    keys.into_iter()
        .zip(messages)
        .filter_map(|(key, message)| Some((key?, prost::Message::encode_to_vec(message))))
        .collect()
}

/// `answers` with its gaps filled, in order, by `written` (the answers of the
/// requests that were not answered before they were written).
pub(super) fn fill<T>(
    answers: Vec<Option<Result<T, ApiError>>>,
    written: Vec<Result<T, ApiError>>,
) -> Vec<Result<T, ApiError>> {
    let mut written = written.into_iter();
    answers
        .into_iter()
        .map(|answer| {
            answer.unwrap_or_else(|| written.next().unwrap_or_else(|| Err(ApiError::internal())))
        })
        .collect()
}

fn invalid_parent() -> ApiError {
    ApiError::of(
        Reason::InvalidParent,
        "parent_id must be a message of the same talk.",
    )
}

impl Messages {
    /// Posts a message as `caller`, an active participant of an active talk.
    pub async fn post(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        new: NewMessage,
    ) -> Result<Message, ApiError> {
        let NewMessage {
            talk,
            kind,
            text,
            parent,
            medias,
        } = new;
        let kind = validate::post_type(&kind)?;
        validate::text(&text, !medias.is_empty())?;
        validate::medias(&medias)?;
        let medias = self.attach_files(caller, talk, medias).await?;
        let scope = Scope::new(caller.agent_id, Operation::PostMessage, talk);
        let key = idempotency::Key::of(&scope, options);
        // A post the talk refuses fails its access check in its batch.
        let mentions = self
            .mentions(caller, talk, &text)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(talk_id = %talk, error = %e, "mentions not resolved");
                "[]".to_owned()
            });
        let draft = Draft {
            customer: caller.customer_id,
            talk,
            parent,
            owner_type: "agent",
            owner_id: caller.agent_id.0,
            kind,
            text,
            medias,
            traceparent: talk_telemetry::propagation::current_traceparent(),
            audience: Vec::new(),
            key,
            mentions,
        };
        self.batches.post(self, caller.to_wire(), draft).await
    }
}
