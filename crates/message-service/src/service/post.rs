//! Posting messages, and the insert every new message (system ones included) goes through.

use sea_orm::{ConnectionTrait, DatabaseTransaction};
use talk_events::EventEnvelope;
use talk_events::kinds::{MessageCreated, envelope};
use talk_proto::{Media, Message, WriteOptions};
use talk_store::{Outbox, db_error};
use talk_telemetry::metrics;
use talk_types::{AgentId, ApiError, CustomerId, MessageId, TalkId, time};
use uuid::Uuid;

use super::{Caller, Messages, validate};
use crate::db::entities::message;
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
    let (message, event) = append_message(txn, draft).await?;
    outbox.stage(txn, vec![event]).await?;
    Ok(message)
}

/// [`insert`] without staging: the message and its `message_created`.
async fn append_message<C: ConnectionTrait>(
    txn: &C,
    draft: Draft,
) -> Result<(Message, EventEnvelope), ApiError> {
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
    } = draft;
    let now = time::now();
    let changes = if parent.is_some() { 2 } else { 1 };
    let row = message::Model {
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
    };
    let reader = (owner_type == "agent").then_some(AgentId(owner_id));
    let (row, counters) = append::append(txn, row, changes, reader)
        .await
        .map_err(db_error)?;
    if let Some(parent) = parent {
        messages::add_reply(txn, customer, parent, counters.last_change)
            .await
            .map_err(db_error)?;
    }
    let message = wire::message(row, &[]);
    let mut event = envelope(MessageCreated(message.clone()), customer, talk, traceparent);
    event.audience = audience;
    metrics::MESSAGES_POSTED.with_label_values(&[kind]).inc();
    Ok((message, event))
}

/// Writes posts in `txn`, in order, with one outbox insert for all of them;
/// a post whose parent is not a message of its talk is refused alone. The
/// parents are locked first, in id order, before the talk's counter row (the
/// order edits take them in).
pub(super) async fn append_posts(
    txn: &DatabaseTransaction,
    outbox: &Outbox,
    drafts: &[Draft],
) -> Result<Vec<Result<Message, ApiError>>, ApiError> {
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
    let mut posted = Vec::with_capacity(drafts.len());
    let mut events = Vec::with_capacity(drafts.len());
    for draft in drafts {
        if draft
            .parent
            .is_some_and(|parent| talk_of.get(&parent) != Some(&draft.talk))
        {
            posted.push(Err(invalid_parent()));
            continue;
        }
        let (message, event) = append_message(txn, draft.clone()).await?;
        posted.push(Ok(message));
        events.push(event);
    }
    outbox.stage(txn, events).await?;
    Ok(posted)
}

pub(super) fn invalid_parent() -> ApiError {
    ApiError::invalid(
        "INVALID_PARENT",
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
        let scope = format!("{}:PostMessage:{talk}", caller.agent_id);
        let mut draft = Draft {
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
        };
        if options.is_none_or(|o| o.idempotency_key.is_empty()) {
            draft.audience = self.write_access(caller, talk).await?.recent_member_ids;
            return self.batches.post(self, draft).await;
        }
        // The access check is a call to talk-service: overlap it with opening
        // the transaction. A retry replays its first answer whatever it says.
        let (begun, access) = tokio::join!(
            self.begin::<Message>(&scope, options),
            self.write_access(caller, talk)
        );
        let txn = match begun? {
            Ok(txn) => txn,
            Err(replay) => return Ok(replay),
        };
        draft.audience = access?.recent_member_ids;
        let mut posted = append_posts(&txn, &self.outbox, &[draft]).await?;
        let message = posted.pop().unwrap_or_else(|| Err(ApiError::internal()))?;
        self.finish(txn, &scope, options, &message).await?;
        Ok(message)
    }
}
