//! The rules of talks and participants. Every write is one transaction:
//! claim the idempotency key, lock the talk, check the rules, write the rows,
//! stage the events, record the response, commit, then wake the outbox relay.

mod access;
pub mod agents;
pub mod convert;
mod create;
mod lifecycle;
mod membership;
mod read;

use prost::Message;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use talk_events::EventEnvelope;
use talk_events::kinds::{DomainEvent, envelope};
use talk_proto::WriteOptions;
use talk_store::idempotency::{self, Claim, Operation, Scope};
use talk_store::{Outbox, db_error};
use talk_types::ApiError;

pub use agents::Agents;
pub use create::NewTalk;

use crate::db::entities::talk;

/// Longest talk name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest talk detail, in characters.
pub const MAX_DETAIL_CHARS: usize = 4096;

pub use talk_auth::Caller;

/// talk-service's domain: the database, the outbox and the agent directory.
#[derive(Clone)]
pub struct Talks {
    db: DatabaseConnection,
    outbox: Outbox,
    agents: Agents,
}

/// A write transaction that claimed its idempotency key, or the replayed response.
enum Begun<T> {
    Fresh(Write),
    Replay(T),
}

/// An open write: its transaction, idempotency scope and staged events.
struct Write {
    txn: DatabaseTransaction,
    scope: Scope,
    options: Option<WriteOptions>,
    events: Vec<EventEnvelope>,
    traceparent: String,
}

impl Write {
    /// Queues an event about `talk` (staged at commit, after the talk's lock).
    fn event<E: DomainEvent>(&mut self, event: E, talk: &talk::Model) -> &mut EventEnvelope {
        self.events.push(envelope(
            event,
            talk.customer_id,
            talk.talk_id(),
            self.traceparent.clone(),
        ));
        let last = self.events.len() - 1;
        &mut self.events[last]
    }
}

impl Talks {
    /// The domain over `db`, staging events in `outbox`, checking agents with `agents`.
    pub fn new(db: DatabaseConnection, outbox: Outbox, agents: Agents) -> Self {
        Self { db, outbox, agents }
    }

    /// Opens a write and claims its idempotency key under `scope`.
    async fn begin<T: Message + Default>(
        &self,
        scope: Scope,
        options: Option<WriteOptions>,
    ) -> Result<Begun<T>, ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        match idempotency::claim::<T>(&txn, &scope, options.as_ref()).await? {
            Claim::Replay(response) => Ok(Begun::Replay(response)),
            Claim::Fresh => Ok(Begun::Fresh(Write {
                txn,
                scope,
                options,
                events: Vec::new(),
                traceparent: talk_telemetry::propagation::current_traceparent(),
            })),
        }
    }

    /// Stages the events, records the response, commits and wakes the relay.
    async fn commit<T: Message>(&self, write: Write, response: &T) -> Result<(), ApiError> {
        let Write {
            txn,
            scope,
            options,
            events,
            traceparent: _,
        } = write;
        self.outbox.stage(&txn, events).await?;
        idempotency::complete(&txn, &scope, options.as_ref(), response).await?;
        txn.commit().await.map_err(db_error)?;
        self.outbox.notify();
        Ok(())
    }
}

/// The idempotency scope of `caller`'s `operation` on `talk`.
fn scope(caller: &Caller, operation: Operation, talk: impl std::fmt::Display) -> Scope {
    Scope::new(caller.agent_id, operation, talk)
}
