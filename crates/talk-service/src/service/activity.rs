//! Talk activity from the bus: a consumer of `message_created` events that
//! moves each talk's `tm_activity` forward to its newest message, so that the
//! archive sweep ([`super::archive`]) knows which talks went quiet. Messages
//! live in message-service's database; their events are how talk-service
//! hears of them (every message counts, system messages included: a join or
//! a leave is activity too).
//!
//! An update only moves a talk's activity forward, so a redelivered or late
//! event changes nothing and no event needs remembering: the consumer keeps
//! just its cursor, saved in the transaction of the batch it applied. Several
//! replicas each consume and write the same (forward-only) values.
//!
//! A sweep first waits until the consumer has applied everything the bus
//! held when the sweep began ([`Activity::caught_up`]), so a message whose
//! event was published before a sweep always counts. (A message committed
//! but not yet published by message-service's outbox — milliseconds — does
//! not: its talk had been idle for days up to that moment, and is reopened
//! like any closed talk.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use talk_events::kinds::decode;
use talk_events::{Bus, BusError, Delivery, EventKind, EventStream, Payload};
use talk_types::time::{self, Timestamp};
use talk_types::{ApiError, CustomerId, TalkId};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use talk_store::cursors::{self, Expired};

use crate::db::queries::talks;

/// The consumer's name in `consumer_cursors`.
pub const CONSUMER: &str = "talk-activity";
/// Most events applied in one transaction.
const BATCH: usize = 512;

/// The consumer, and how far it has applied the bus.
#[derive(Clone)]
pub struct Activity {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    /// Bus position through which every event is applied.
    applied: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("applied", &*self.applied.borrow())
            .finish_non_exhaustive()
    }
}

impl Activity {
    /// Keeps the activity of `db`'s talks from `bus`'s events.
    pub fn new(db: DatabaseConnection, bus: Arc<dyn Bus>) -> Self {
        Self {
            db,
            bus,
            applied: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Waits until every event the bus holds now is applied; 503 when that
    /// takes longer than `within` (the consumer is down or far behind, and a
    /// sweep must not close talks on what it does not know).
    pub async fn caught_up(&self, within: Duration) -> Result<(), ApiError> {
        let target = self
            .bus
            .last_seq()
            .await
            .map_err(|_| ApiError::unavailable("event bus"))?;
        let mut applied = self.applied.subscribe();
        match tokio::time::timeout(within, applied.wait_for(|seq| *seq >= target)).await {
            Ok(Ok(_)) => Ok(()),
            _ => {
                tracing::warn!(target, "the talk activity consumer is behind the bus");
                Err(ApiError::unavailable("talk activity"))
            }
        }
    }

    /// Consumes the bus until `shutdown`, resubscribing after a failure.
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let stream = match self.subscribe().await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "talk activity consumer cannot subscribe; retrying");
                    if pause(&shutdown, Duration::from_secs(1)).await {
                        return;
                    }
                    continue;
                }
            };
            if let Err(e) = self.consume(stream, &shutdown).await {
                tracing::warn!(error = %e, "talk activity consumer lost the bus; resubscribing");
                if pause(&shutdown, Duration::from_millis(200)).await {
                    return;
                }
            }
        }
    }

    /// Subscribes after the saved cursor. The first time (and when the
    /// cursor is older than the bus keeps), after the newest event: earlier
    /// messages are older than the activity every talk starts with.
    async fn subscribe(&self) -> Result<EventStream, BusError> {
        let (stream, start) =
            cursors::subscribe(&self.db, self.bus.as_ref(), CONSUMER, Expired::Newest).await?;
        self.mark(start);
        Ok(stream)
    }

    /// Applies `stream` batch by batch (what has arrived, up to [`BATCH`]);
    /// Ok when shut down, Err when the stream failed or ended.
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
            if !self.apply_until_done(&batch, shutdown).await {
                return Ok(());
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }

    /// Retries [`Activity::apply`] until it is done; false when shut down first.
    async fn apply_until_done(&self, batch: &[Delivery], shutdown: &CancellationToken) -> bool {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.apply(batch).await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(error = %e, "recording talk activity failed; retrying");
                    if pause(shutdown, backoff).await {
                        return false;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Moves each talk of `batch` to its newest message and the cursor past
    /// the batch, in one transaction (talks in id order, so two replicas
    /// never lock them crosswise).
    async fn apply(&self, batch: &[Delivery]) -> Result<(), DbErr> {
        let Some(last) = batch.last().map(|d| d.seq) else {
            return Ok(());
        };
        let txn = self.db.begin().await?;
        for ((talk, customer), at) in newest_messages(batch) {
            talks::touch(&txn, customer, talk, at).await?;
        }
        cursors::save(&txn, CONSUMER, last).await?;
        txn.commit().await?;
        self.mark(last);
        Ok(())
    }

    /// Records that everything through `seq` is applied.
    fn mark(&self, seq: u64) {
        self.applied.send_if_modified(|applied| {
            let later = seq > *applied;
            if later {
                *applied = seq;
            }
            later
        });
    }
}

/// The newest message of each talk among `batch`'s `message_created` events.
fn newest_messages(batch: &[Delivery]) -> BTreeMap<(TalkId, CustomerId), Timestamp> {
    let mut newest = BTreeMap::new();
    for delivery in batch {
        let envelope = &delivery.envelope;
        let Some((EventKind::MessageCreated, Payload::Message(message))) = decode(envelope) else {
            continue;
        };
        let (Ok(talk), Ok(customer)) = (envelope.talk_id.parse(), envelope.customer_id.parse())
        else {
            continue;
        };
        let micros = if message.tm_create > 0 {
            message.tm_create
        } else {
            envelope.occurred_at
        };
        let Some(at) = time::from_micros(micros) else {
            continue;
        };
        newest
            .entry((talk, customer))
            .and_modify(|t: &mut Timestamp| *t = (*t).max(at))
            .or_insert(at);
    }
    newest
}

fn ended() -> BusError {
    BusError::Unavailable("the event stream ended".into())
}

/// Sleeps; true when shut down meanwhile.
async fn pause(shutdown: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(duration) => false,
    }
}
