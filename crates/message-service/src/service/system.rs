//! System messages: a consumer of the bus that writes "<name> joined the
//! conversation." (and left, closed, archived, reopened) into the talk, exactly once per
//! event. The event id is recorded in `consumed_events` in the same transaction
//! as the message, its outbox event and the consumer's cursor, so redelivery
//! and restarts never make a second message.
//!
//! Owners: join and leave messages are owned by the agent concerned
//! (`owner_type` `agent`); close and reopen events do not say who acted, so
//! those messages have `owner_type` `system` and the talk's id as `owner_id`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use sea_orm::TransactionTrait;
use talk_events::{Bus, Delivery, EventKind, Payload};
use talk_proto::GetAgentRequest;
use talk_store::cursors::{self, Expired};
use talk_store::db_error;
use talk_types::{AgentId, ApiError, CustomerId, TalkId};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Messages;
use super::post::{Draft, insert};
use crate::db::queries::consumer;

/// The consumer's name in `consumer_cursors`.
pub const CONSUMER: &str = "system-messages";
/// Skipped events between cursor saves.
const SAVE_EVERY: u32 = 256;

/// A system message to write for one event.
struct SystemMessage {
    customer: CustomerId,
    talk: TalkId,
    owner_type: &'static str,
    owner_id: Uuid,
    text: String,
}

impl Messages {
    /// Consumes the bus until `shutdown`; sets `subscribed` once it listens.
    pub async fn run_system_messages(
        self,
        bus: Arc<dyn Bus>,
        subscribed: Arc<AtomicBool>,
        shutdown: CancellationToken,
    ) {
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            // A cursor older than the bus keeps: the events in between get no
            // system message.
            let subscribed_now =
                cursors::subscribe(&self.db, bus.as_ref(), CONSUMER, Expired::Newest).await;
            let mut stream = match subscribed_now {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "system message consumer cannot subscribe; retrying");
                    if pause(&shutdown, Duration::from_secs(1)).await {
                        return;
                    }
                    continue;
                }
            };
            subscribed.store(true, Ordering::Release);
            let mut pending: Option<u64> = None;
            let mut skipped = 0u32;
            loop {
                let next = tokio::select! {
                    () = shutdown.cancelled() => None,
                    () = tokio::time::sleep(Duration::from_secs(2)), if pending.is_some() => {
                        self.save_cursor(&mut pending).await;
                        skipped = 0;
                        continue;
                    }
                    next = stream.next() => next,
                };
                match next {
                    None => break,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "system message consumer lost the bus; resubscribing");
                        break;
                    }
                    Some(Ok(delivery)) => match self.describe(&delivery).await {
                        None => {
                            pending = Some(delivery.seq);
                            skipped += 1;
                            if skipped >= SAVE_EVERY {
                                self.save_cursor(&mut pending).await;
                                skipped = 0;
                            }
                        }
                        Some(message) => {
                            if !self.write_until_done(&delivery, message, &shutdown).await {
                                return;
                            }
                            pending = None;
                            skipped = 0;
                        }
                    },
                }
            }
            self.save_cursor(&mut pending).await;
            if pause(&shutdown, Duration::from_millis(200)).await {
                return;
            }
        }
    }

    async fn save_cursor(&self, pending: &mut Option<u64>) {
        if let Some(seq) = pending.take()
            && let Err(e) = cursors::save(&self.db, CONSUMER, seq).await
        {
            tracing::warn!(error = %e, "saving the system message cursor failed");
        }
    }

    /// Retries the write until it is done; false when shut down first.
    async fn write_until_done(
        &self,
        delivery: &Delivery,
        message: SystemMessage,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.write_system(delivery, &message).await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(event_id = %delivery.envelope.id, error = %e, "writing a system message failed; retrying");
                    if pause(shutdown, backoff).await {
                        return false;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// The system message an event calls for, if any.
    async fn describe(&self, delivery: &Delivery) -> Option<SystemMessage> {
        let envelope = &delivery.envelope;
        let (kind, payload) = talk_events::kinds::decode(envelope)?;
        let customer: CustomerId = envelope.customer_id.parse().ok()?;
        let talk: TalkId = envelope.talk_id.parse().ok()?;
        let system = |text: &str| SystemMessage {
            customer,
            talk,
            owner_type: "system",
            owner_id: talk.0,
            text: text.to_owned(),
        };
        match (kind, payload) {
            // A talk's first members did not join anything: it was created with them.
            (EventKind::ParticipantJoined, _) if envelope.at_creation => None,
            (
                EventKind::ParticipantJoined | EventKind::ParticipantLeft,
                Payload::Participant(p),
            ) => {
                let agent: AgentId = p.owner_id.parse().ok()?;
                let name = self.agent_name(customer, agent).await;
                let verb = if kind == EventKind::ParticipantJoined {
                    "joined"
                } else {
                    "left"
                };
                Some(SystemMessage {
                    customer,
                    talk,
                    owner_type: "agent",
                    owner_id: agent.0,
                    text: format!("{name} {verb} the conversation."),
                })
            }
            // Closed by talk-service's sweep of inactive talks (close_reason).
            (EventKind::TalkClosed, Payload::Talk(t)) if t.close_reason == "inactivity" => {
                Some(system("The conversation was archived for inactivity."))
            }
            (EventKind::TalkClosed, _) => Some(system("The conversation was closed.")),
            (EventKind::TalkReopened, _) => Some(system("The conversation was reopened.")),
            _ => None,
        }
    }

    /// The agent's display name, or "An agent" when agent-service cannot say.
    async fn agent_name(&self, customer: CustomerId, agent: AgentId) -> String {
        // Asked as the agent itself: every agent may read its own record.
        let request = talk_runtime::grpc::acting(
            talk_proto::Caller {
                agent_id: agent.to_string(),
                customer_id: customer.to_string(),
                permission: 0,
            },
            GetAgentRequest {
                agent_id: agent.to_string(),
            },
        );
        match self.agents.clone().get_agent(request).await {
            Ok(response) => {
                let agent = response.into_inner();
                [agent.name, agent.username]
                    .into_iter()
                    .find(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| "An agent".to_owned())
            }
            Err(status) => {
                tracing::warn!(agent_id = %agent, code = ?status.code(), "agent name lookup failed");
                "An agent".to_owned()
            }
        }
    }

    /// Writes one system message unless its event was consumed before.
    async fn write_system(
        &self,
        delivery: &Delivery,
        message: &SystemMessage,
    ) -> Result<(), ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        if consumer::claim_event(&txn, &delivery.envelope.id)
            .await
            .map_err(db_error)?
        {
            let draft = Draft {
                customer: message.customer,
                talk: message.talk,
                parent: None,
                owner_type: message.owner_type,
                owner_id: message.owner_id,
                kind: "system",
                text: message.text.clone(),
                medias: Vec::new(),
                traceparent: delivery.envelope.traceparent.clone(),
                // No audience: a system message is caused by a bus event (the
                // participant or talk change it describes), so it is always
                // published after that event and the gateway's membership
                // table, kept by those events, already routes it right.
                audience: Vec::new(),
                key: None,
                mentions: "[]".to_owned(),
            };
            insert(&txn, &self.outbox, draft).await?;
        }
        cursors::save(&txn, CONSUMER, delivery.seq)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        self.outbox.notify();
        Ok(())
    }
}

/// Sleeps; true when shut down meanwhile.
async fn pause(shutdown: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(duration) => false,
    }
}
