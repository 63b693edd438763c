//! The skeleton of every idempotent write but a batched post, in one place:
//!
//! 1. [`Writes::recorded`] — a retry whose first answer is recorded gets it
//!    back before anything is checked (whatever the target is now);
//! 2. the service checks access, calling other services while no
//!    transaction is open;
//! 3. [`Writes::begin`] opens the transaction and claims the key (a request
//!    racing with the same key waits for the first and replays its answer);
//! 4. the service locks, checks the rules and writes through [`Write::txn`],
//!    queueing its events with [`Write::event`];
//! 5. [`Write::commit`] stages the events in the outbox, records the answer,
//!    commits and wakes the relay.
//!
//! A write dropped before [`Write::commit`] rolls back: its claim, rows and
//! events with it.

use prost::Message;
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use talk_events::EventEnvelope;
use talk_events::kinds::{DomainEvent, envelope};
use talk_proto::WriteOptions;
use talk_types::{ApiError, CustomerId, TalkId};

use crate::idempotency::{self, Claim, Key, Scope};
use crate::{Outbox, db_error};

/// Where a service's writes go: its database, and the outbox its events are
/// staged in (none for a service that announces nothing).
#[derive(Clone)]
pub struct Writes {
    db: DatabaseConnection,
    outbox: Option<Outbox>,
}

impl std::fmt::Debug for Writes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writes").finish_non_exhaustive()
    }
}

/// A write that claimed its key, or the answer of the request that did.
// Taken apart at once by the caller: not worth a box per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Begun<T> {
    /// Do the write.
    Fresh(Write),
    /// A retry: answer this and write nothing.
    Replay(T),
}

/// An open write: its transaction, its idempotency record to be and the
/// events it will stage.
pub struct Write {
    txn: DatabaseTransaction,
    key: Option<Key>,
    outbox: Option<Outbox>,
    events: Vec<EventEnvelope>,
    traceparent: String,
}

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Write")
            .field("key", &self.key)
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Writes {
    /// Writes to `db`, announcing through `outbox`.
    pub fn new(db: DatabaseConnection, outbox: Outbox) -> Self {
        Self {
            db,
            outbox: Some(outbox),
        }
    }

    /// Writes to `db` that announce nothing.
    pub fn silent(db: DatabaseConnection) -> Self {
        Self { db, outbox: None }
    }

    /// The answer recorded for `scope` and `options`' key, if its first
    /// request committed; `None` without a key. Read outside any
    /// transaction, so a retry replays before any check.
    pub async fn recorded<T: Message + Default>(
        &self,
        scope: &Scope,
        options: Option<&WriteOptions>,
    ) -> Result<Option<T>, ApiError> {
        match Key::of(scope, options) {
            Some(key) => idempotency::lookup(&self.db, &key).await,
            None => Ok(None),
        }
    }

    /// Opens a write and claims `options`' key under `scope`; a retry gets
    /// the first answer instead.
    pub async fn begin<T: Message + Default>(
        &self,
        scope: &Scope,
        options: Option<&WriteOptions>,
    ) -> Result<Begun<T>, ApiError> {
        self.begin_keyed(Key::of(scope, options)).await
    }

    /// [`Writes::begin`] with the record to be made already.
    pub async fn begin_keyed<T: Message + Default>(
        &self,
        key: Option<Key>,
    ) -> Result<Begun<T>, ApiError> {
        let txn = self.db.begin().await.map_err(db_error)?;
        if let Some(key) = &key
            && let Claim::Replay(answer) = idempotency::claim(&txn, key).await?
        {
            return Ok(Begun::Replay(answer));
        }
        Ok(Begun::Fresh(Write {
            txn,
            key,
            outbox: self.outbox.clone(),
            events: Vec::new(),
            traceparent: talk_telemetry::propagation::current_traceparent(),
        }))
    }
}

impl Write {
    /// The write's transaction.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Queues `event` of `customer`'s `talk`, staged at commit in the order
    /// queued (so after the locks the write took); the answer is the
    /// envelope, to widen its audience.
    pub fn event<E: DomainEvent>(
        &mut self,
        event: E,
        customer: CustomerId,
        talk: TalkId,
    ) -> &mut EventEnvelope {
        self.events
            .push(envelope(event, customer, talk, self.traceparent.clone()));
        let last = self.events.len() - 1;
        &mut self.events[last]
    }

    /// Stages the events, records `answer` for the key, commits and wakes
    /// the outbox relay.
    pub async fn commit<T: Message>(self, answer: &T) -> Result<(), ApiError> {
        let Self {
            txn,
            key,
            outbox,
            events,
            traceparent: _,
        } = self;
        if let Some(outbox) = &outbox {
            outbox.stage(&txn, events).await?;
        } else if !events.is_empty() {
            tracing::error!("a write without an outbox queued events");
            return Err(ApiError::internal());
        }
        if let Some(key) = &key {
            idempotency::complete(&txn, key, answer).await?;
        }
        txn.commit().await.map_err(db_error)?;
        if let Some(outbox) = outbox {
            outbox.notify();
        }
        Ok(())
    }
}
