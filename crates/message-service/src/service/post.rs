//! Posting messages, and the insert every new message (system ones included) goes through.

use sea_orm::{ConnectionTrait, Set};
use talk_events::kinds::{MessageCreated, envelope};
use talk_proto::{Media, Message, WriteOptions};
use talk_store::{Outbox, db_error};
use talk_telemetry::metrics;
use talk_types::{AgentId, ApiError, CustomerId, MessageId, TalkId, time};
use uuid::Uuid;

use super::{Caller, Messages, validate};
use crate::db::entities::message;
use crate::db::queries::{counters, messages, read_states};
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
    let bump = counters::Bump {
        message_at: Some(time::to_micros(&now)),
        changes: if parent.is_some() { 2 } else { 1 },
    };
    let counters = counters::bump(txn, customer, talk, bump)
        .await
        .map_err(db_error)?;
    let tm_create = time::from_micros(counters.last_tm_create).unwrap_or(now);
    let change_seq = counters.last_change - bump.changes + 1;
    if let Some(parent) = parent {
        messages::add_reply(txn, customer, parent, counters.last_change)
            .await
            .map_err(db_error)?;
    }
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
        seq: counters.last_seq,
        change_seq,
        reply_count: 0,
        tm_create,
        tm_update: tm_create,
        tm_delete: None,
    };
    messages::insert(txn, active(row.clone()))
        .await
        .map_err(db_error)?;
    if owner_type == "agent" {
        read_states::advance(txn, customer, talk, AgentId(owner_id), counters.last_seq)
            .await
            .map_err(db_error)?;
    }
    let message = wire::message(row, &[]);
    let mut event = envelope(MessageCreated(message.clone()), customer, talk, traceparent);
    event.audience = audience;
    outbox.stage(txn, vec![event]).await?;
    metrics::MESSAGES_POSTED.with_label_values(&[kind]).inc();
    Ok(message)
}

fn active(row: message::Model) -> message::ActiveModel {
    let message::Model {
        id,
        customer_id,
        talk_id,
        parent_id,
        owner_type,
        owner_id,
        kind,
        text,
        medias,
        seq,
        change_seq,
        reply_count,
        tm_create,
        tm_update,
        tm_delete,
    } = row;
    message::ActiveModel {
        id: Set(id),
        customer_id: Set(customer_id),
        talk_id: Set(talk_id),
        parent_id: Set(parent_id),
        owner_type: Set(owner_type),
        owner_id: Set(owner_id),
        kind: Set(kind),
        text: Set(text),
        medias: Set(medias),
        seq: Set(seq),
        change_seq: Set(change_seq),
        reply_count: Set(reply_count),
        tm_create: Set(tm_create),
        tm_update: Set(tm_update),
        tm_delete: Set(tm_delete),
    }
}

fn invalid_parent() -> ApiError {
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
        let access = access?;
        if let Some(parent) = parent {
            let row = messages::find_for_update(&txn, caller.customer_id, parent)
                .await
                .map_err(db_error)?
                .ok_or_else(invalid_parent)?;
            if row.talk_id != talk {
                return Err(invalid_parent());
            }
        }
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
            audience: access.recent_member_ids,
        };
        let message = insert(&txn, &self.outbox, draft).await?;
        self.finish(txn, &scope, options, &message).await?;
        Ok(message)
    }
}
