//! The bus consumer: every event becomes one delivery row per enabled
//! endpoint of its customer that it matches, written in the transaction
//! that moves the consumer's cursor past it — so after a crash the consumer
//! resumes exactly where its last commit left it, and no event is queued
//! twice or lost. The transaction holds an advisory lock (PostgreSQL):
//! replicas take turns and skip what another already applied.
//!
//! The first start begins at the bus's newest event: endpoints receive what
//! happens after they are created (older events by a replay).
//!
//! An agent's endpoint hears the talks its agent is in as each event
//! happened: `agent_talks` follows the `participant_joined` and
//! `participant_left` of such agents in the same transaction (a joined
//! agent hears its own join, a leaving one its own leave, and nothing of
//! the talk after).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};
use talk_events::{Bus, BusError, Delivery, EventKind, EventStream};
use talk_types::time;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::endpoint::{Endpoint, Members};
use super::event::{self, Event};
use crate::db::entities::delivery;
use crate::db::queries::{agent_talks, deliveries, endpoints};
use talk_store::cursors::{self, Expired};

/// The consumer's name in `consumer_cursors`.
pub const CONSUMER: &str = "webhooks";
/// Most events applied in one transaction.
const BATCH: usize = 256;

/// The consumer.
#[derive(Clone)]
pub struct Consumer {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    wake: Arc<Notify>,
}

impl Consumer {
    /// Queues `bus`'s events in `db`, waking the dispatcher with `wake`.
    pub fn new(db: DatabaseConnection, bus: Arc<dyn Bus>, wake: Arc<Notify>) -> Self {
        Self { db, bus, wake }
    }

    /// Consumes the bus until `shutdown`, resubscribing after a failure.
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let stream = match self.subscribe().await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook consumer cannot subscribe; retrying");
                    if pause(&shutdown, Duration::from_secs(1)).await {
                        return;
                    }
                    continue;
                }
            };
            if let Err(e) = self.consume(stream, &shutdown).await {
                tracing::warn!(error = %e, "webhook consumer lost the bus; resubscribing");
                if pause(&shutdown, Duration::from_millis(200)).await {
                    return;
                }
            }
        }
    }

    /// Subscribes after the saved cursor (the first time, after the newest
    /// event); a cursor older than the bus keeps resumes at the oldest event
    /// it still holds.
    async fn subscribe(&self) -> Result<EventStream, BusError> {
        let (stream, _) =
            cursors::subscribe(&self.db, self.bus.as_ref(), CONSUMER, Expired::Oldest).await?;
        Ok(stream)
    }

    async fn consume(
        &self,
        mut stream: EventStream,
        shutdown: &CancellationToken,
    ) -> Result<(), BusError> {
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                next = stream.next() => next,
            };
            let mut batch = vec![first.ok_or_else(ended)??];
            let mut failed = None;
            while batch.len() < BATCH {
                match stream.next().now_or_never() {
                    Some(Some(Ok(delivery))) => batch.push(delivery),
                    Some(Some(Err(e))) => {
                        failed = Some(e);
                        break;
                    }
                    Some(None) => {
                        failed = Some(ended());
                        break;
                    }
                    None => break,
                }
            }
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.apply(&batch).await {
                    Ok(queued) => {
                        if queued > 0 {
                            self.wake.notify_one();
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "queueing webhook deliveries failed; retrying");
                        if pause(shutdown, backoff).await {
                            return Ok(());
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }

    /// Queues the deliveries of `batch`'s events not yet applied and moves
    /// the cursor past the batch, in one transaction; answers how many.
    async fn apply(&self, batch: &[Delivery]) -> Result<usize, DbErr> {
        let Some(last) = batch.last().map(|d| d.seq) else {
            return Ok(0);
        };
        let txn = self.db.begin().await?;
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // Replicas take turns (SQLite serialises writers anyway).
            txn.execute_unprepared(
                "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.webhook-consumer'))",
            )
            .await?;
        }
        let applied = cursors::find(&txn, CONSUMER).await?.unwrap_or(0);
        let events: Vec<Event> = batch
            .iter()
            .filter(|d| d.seq > applied)
            .filter_map(|d| {
                let decoded = event::decode(d);
                // Read positions are no webhook event (event::decode).
                let read = d.envelope.kind == EventKind::ReadUpdated.name();
                if decoded.is_none() && !read {
                    tracing::warn!(kind = %d.envelope.kind, seq = d.seq, "undecodable event skipped");
                }
                decoded
            })
            .collect();
        let customers: BTreeSet<_> = events.iter().map(|e| e.customer).collect();
        let mut rows = Vec::new();
        if !customers.is_empty() {
            let all = endpoints::of_customers(&txn, customers).await?;
            // Agents of disabled endpoints too: they may be enabled again.
            let agents: HashSet<_> = all.iter().filter_map(|row| row.agent_id).collect();
            let targets: Vec<Endpoint> = all
                .into_iter()
                .filter(|row| row.disabled_reason.is_none())
                .map(Endpoint::from)
                .collect();
            let mut members = match agents.is_empty() {
                true => Members::new(),
                false => {
                    let talks: BTreeSet<_> = events.iter().map(|e| e.talk).collect();
                    agent_talks::among(&txn, agents.iter().copied(), talks).await?
                }
            };
            let mut changed = HashSet::new();
            let now = time::now();
            for event in &events {
                let subject = event.subject.filter(|agent| agents.contains(agent));
                if let Some(agent) = subject
                    && event.kind == EventKind::ParticipantJoined
                    && members.insert((agent, event.talk))
                {
                    changed.insert((agent, event.talk));
                }
                for target in targets.iter().filter(|t| t.wants(event, &members)) {
                    rows.push(queued(target, event, now));
                }
                if let Some(agent) = subject
                    && event.kind == EventKind::ParticipantLeft
                    && members.remove(&(agent, event.talk))
                {
                    changed.insert((agent, event.talk));
                }
            }
            let (joined, left): (Vec<_>, Vec<_>) =
                changed.into_iter().partition(|pair| members.contains(pair));
            agent_talks::add(&txn, joined).await?;
            agent_talks::remove(&txn, left).await?;
        }
        let queued = rows.len();
        deliveries::insert_many(&txn, rows).await?;
        if last > applied {
            cursors::save(&txn, CONSUMER, last).await?;
        }
        txn.commit().await?;
        Ok(queued)
    }
}

/// A new delivery of `event` to `target`, due at `now`.
pub fn queued(target: &Endpoint, event: &Event, now: time::Timestamp) -> delivery::Model {
    delivery::Model {
        id: crate::DeliveryId::new(),
        endpoint_id: target.id,
        customer_id: target.customer,
        message_id: event.message_id(target.id),
        event_type: target.naming.name(event.kind).to_owned(),
        event_seq: i64::try_from(event.seq).unwrap_or(i64::MAX),
        body: event.body(target.naming),
        status: deliveries::PENDING.to_owned(),
        attempts: 0,
        tm_next_attempt: Some(now),
        response_status: None,
        latency_ms: None,
        response_body: None,
        error: None,
        tm_create: now,
        tm_update: now,
    }
}

fn ended() -> BusError {
    BusError::Unavailable("the event stream ended".into())
}

/// Sleeps; true when shut down meanwhile.
pub(crate) async fn pause(shutdown: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(duration) => false,
    }
}
