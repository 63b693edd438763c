//! The transactional outbox: events are staged in the same transaction as the
//! change and published to the bus by a relay after commit.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};
use talk_events::{Bus, EventEnvelope, Outgoing};
use talk_telemetry::metrics;
use talk_types::{ApiError, time};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db_error;

/// The `outbox` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One staged event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// Commit order within the service (per talk, see [`super::Outbox::stage`]).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The event's id, the bus's de-duplication key.
        pub event_id: String,
        /// Subject to publish on.
        pub subject: String,
        /// W3C trace context of the request.
        pub traceparent: String,
        /// The encoded envelope.
        pub payload: Vec<u8>,
        /// When it was staged.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

const BATCH: u64 = 512;

/// Stages events and relays them to the bus.
#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    prefix: String,
    service: &'static str,
    wake: Arc<Notify>,
}

impl Outbox {
    /// An outbox of `service` in `db`, relaying to `bus` under `prefix`.
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        prefix: String,
        service: &'static str,
    ) -> Self {
        Self {
            db,
            bus,
            prefix,
            service,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Stages events inside the caller's transaction. Call it after taking the
    /// row lock of the talk the events belong to, so the outbox ids of one talk
    /// are in commit order.
    pub async fn stage<C: ConnectionTrait>(
        &self,
        txn: &C,
        envelopes: Vec<EventEnvelope>,
    ) -> Result<(), ApiError> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let now = time::now();
        let rows = envelopes.iter().map(|envelope| entity::ActiveModel {
            event_id: Set(envelope.id.clone()),
            subject: Set(talk_events::kinds::subject(&self.prefix, envelope)),
            traceparent: Set(envelope.traceparent.clone()),
            payload: Set(talk_events::kinds::encode(envelope)),
            created_at: Set(now),
            ..Default::default()
        });
        entity::Entity::insert_many(rows)
            .exec(txn)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// Wakes the relay; call after commit.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Relays until `shutdown`, publishing whatever is staged, in order.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.drain().await {
                Ok(()) => backoff = Duration::from_millis(50),
                Err(e) => {
                    tracing::warn!(service = self.service, error = %e, "outbox relay failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {
                    // One last drain so a clean stop leaves nothing behind.
                    let _ = self.drain().await;
                    return;
                }
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Publishes every staged event; Err leaves the unpublished rest staged.
    pub async fn drain(&self) -> Result<(), String> {
        loop {
            let txn = self.db.begin().await.map_err(|e| e.to_string())?;
            if txn.get_database_backend() == DatabaseBackend::Postgres {
                // One relay per service schema at a time keeps publication in id order.
                let row = txn
                    .query_one_raw(Statement::from_string(
                        DatabaseBackend::Postgres,
                        "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.outbox')) AS locked",
                    ))
                    .await
                    .map_err(|e| e.to_string())?;
                let locked = row
                    .and_then(|r| r.try_get::<bool>("", "locked").ok())
                    .unwrap_or(false);
                if !locked {
                    return Ok(());
                }
            }
            let rows = entity::Entity::find()
                .order_by_asc(entity::Column::Id)
                .limit(BATCH)
                .all(&txn)
                .await
                .map_err(|e| e.to_string())?;
            self.observe(&rows);
            if rows.is_empty() {
                return Ok(());
            }
            let full = rows.len() as u64 == BATCH;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let kinds: Vec<String> = rows
                .iter()
                .map(|r| r.subject.rsplit('.').next().unwrap_or_default().to_owned())
                .collect();
            let batch = rows
                .into_iter()
                .map(|r| Outgoing {
                    subject: r.subject,
                    event_id: r.event_id,
                    traceparent: r.traceparent,
                    payload: Bytes::from(r.payload),
                })
                .collect();
            let (published, failure) = match self.bus.publish_batch(batch).await {
                Ok(()) => (ids.len(), None),
                Err((done, e)) => (done, Some(e)),
            };
            for kind in &kinds[..published] {
                metrics::EVENTS_PUBLISHED.with_label_values(&[kind]).inc();
            }
            if published > 0 {
                entity::Entity::delete_many()
                    .filter(entity::Column::Id.is_in(ids[..published].iter().copied()))
                    .exec(&txn)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            txn.commit().await.map_err(|e| e.to_string())?;
            if let Some(e) = failure {
                return Err(e.to_string());
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn observe(&self, rows: &[entity::Model]) {
        metrics::OUTBOX_BACKLOG
            .with_label_values(&[self.service])
            .set(rows.len() as i64);
        let age = rows
            .first()
            .map_or(0, |r| (time::now() - r.created_at).num_milliseconds());
        metrics::OUTBOX_AGE_MS
            .with_label_values(&[self.service])
            .set(age);
    }
}
