//! The dispatcher: sends due deliveries, each attempt signed afresh, at
//! most `TALK_WEBHOOK_CONCURRENCY_PER_ENDPOINT` at a time to one endpoint
//! (an endpoint with every slot taken is left out of the next query, so a
//! slow or hung endpoint never holds up another's), each with a timeout,
//! redirects not followed, at most 4 KiB of an answer kept.
//!
//! An endpoint that receives in order (`ordered`) gets one delivery at a
//! time, in bus order: its next starts once the one before succeeded or
//! ran out of retries.
//!
//! A delivery is claimed in the database before its attempt (its due time
//! moved past the attempt's timeout), so two replicas never send it at once
//! and one that dies mid-attempt leaves it due again. An attempt answered
//! 2xx ends the delivery; any other answer or none is retried on the
//! [`Schedule`], the same `webhook-id` each time, until the schedule ends.
//! An endpoint whose every attempt has failed for
//! `TALK_WEBHOOK_DISABLE_AFTER_SECS` is disabled, its pending deliveries
//! end as failed, and the customer's other endpoints hear it
//! (`webhook_disabled`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use talk_types::time::{self, Timestamp};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Settings;
use super::consumer::pause;
use super::http::{self, Sender};
use super::{manage, signing};
use crate::WebhookId;
use crate::db::entities::{delivery, endpoint};
use crate::db::queries::deliveries::{self, Attempt};
use crate::db::queries::endpoints;
use crate::metrics;

/// Most attempts in flight in all.
const MAX_IN_FLIGHT: usize = 512;
/// Most deliveries fetched per round: a round starts at most
/// `TALK_WEBHOOK_CONCURRENCY_PER_ENDPOINT` of one endpoint's (busy endpoints
/// are left out of the query), and the next round follows as soon as an
/// attempt ends, so a small round reads less and loses nothing.
const ROUND: u64 = 64;
/// Longest wait between two rounds.
const IDLE: Duration = Duration::from_secs(1);

/// Sends the deliveries of one database.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    sender: Sender,
    settings: Settings,
    wake: Arc<Notify>,
    slots: Arc<Mutex<HashMap<WebhookId, Arc<Semaphore>>>>,
    in_flight: Arc<Semaphore>,
    /// When the backlog gauge was last measured (a count: once a second at most).
    measured: Arc<Mutex<Option<Instant>>>,
}

/// What one attempt got back.
struct Answer {
    status: Option<u16>,
    body: Option<String>,
    error: Option<String>,
}

impl Dispatcher {
    /// A dispatcher of `db`'s deliveries.
    pub fn new(db: DatabaseConnection, settings: Settings) -> Result<Self, rustls::Error> {
        Ok(Self {
            db,
            sender: Sender::new(settings.allow_private, settings.timeout)?,
            settings,
            wake: Arc::new(Notify::new()),
            slots: Arc::default(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            measured: Arc::default(),
        })
    }

    /// What wakes the dispatcher when deliveries are queued.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Sends until `shutdown`; attempts in flight then are abandoned (their
    /// deliveries are due again once their claim lapses).
    pub async fn run(self, shutdown: CancellationToken) {
        let tracker = TaskTracker::new();
        while !shutdown.is_cancelled() {
            let wait = match self.round(&tracker, &shutdown).await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatcher cannot read its deliveries; retrying");
                    IDLE
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracker.close();
        tracker.wait().await;
    }

    /// Starts the attempts due now that have a free slot; answers how long
    /// to wait for the next round.
    async fn round(
        &self,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Duration, DbErr> {
        let now = time::now();
        if self.measure_now() {
            let backlog = deliveries::backlog(&self.db, now).await?;
            metrics::BACKLOG.set(i64::try_from(backlog).unwrap_or(i64::MAX));
        }
        let mut busy = self.busy();
        let mut due = deliveries::due(
            &self.db,
            now,
            &busy.iter().copied().collect::<Vec<_>>(),
            ROUND,
        )
        .await?;
        due.extend(deliveries::ordered_heads(&self.db, now).await?);
        for row in due {
            if busy.contains(&row.endpoint_id) {
                continue;
            }
            let Ok(total) = self.in_flight.clone().try_acquire_owned() else {
                break;
            };
            let Ok(slot) = self.slot(row.endpoint_id).try_acquire_owned() else {
                busy.insert(row.endpoint_id);
                continue;
            };
            // Past the attempt's timeout: due again only if its sender died.
            let lease = self.settings.timeout + Duration::from_secs(5);
            if !deliveries::claim(&self.db, &row, later(now, lease)).await? {
                continue;
            }
            let (this, shutdown) = (self.clone(), shutdown.clone());
            tracker.spawn(async move {
                this.attempt(row, &shutdown).await;
                drop((slot, total));
                this.wake.notify_one();
            });
        }
        Ok(match deliveries::next_due(&self.db).await? {
            Some(next) => (next - time::now()).to_std().map_or(IDLE, |d| d.min(IDLE)),
            None => IDLE,
        })
    }

    /// Whether the backlog is due for measuring.
    fn measure_now(&self) -> bool {
        let mut measured = self.measured.lock().unwrap_or_else(|e| e.into_inner());
        let due = measured.is_none_or(|at| at.elapsed() >= IDLE);
        if due {
            *measured = Some(Instant::now());
        }
        due
    }

    /// The endpoints with every slot taken.
    fn busy(&self) -> HashSet<WebhookId> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let per_endpoint = self.settings.per_endpoint;
        slots.retain(|_, s| s.available_permits() < per_endpoint);
        slots
            .iter()
            .filter(|(_, s)| s.available_permits() == 0)
            .map(|(id, _)| *id)
            .collect()
    }

    fn slot(&self, endpoint: WebhookId) -> Arc<Semaphore> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(endpoint)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_endpoint)))
            .clone()
    }

    /// One attempt of `row`, recorded.
    async fn attempt(&self, row: delivery::Model, shutdown: &CancellationToken) {
        let target = match endpoints::find_by_id(&self.db, row.endpoint_id).await {
            Ok(Some(target)) => target,
            // Deleted since: its deliveries went with it.
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(delivery_id = %row.id, error = %e, "webhook endpoint unreadable; the delivery waits for its claim to lapse");
                return;
            }
        };
        if target.disabled_reason.is_some() {
            let failed =
                deliveries::fail_pending(&self.db, target.id, "endpoint disabled", time::now())
                    .await;
            if let Err(e) = failed {
                tracing::warn!(webhook_id = %target.id, error = %e, "ending deliveries of a disabled endpoint failed");
            }
            return;
        }
        let started = Instant::now();
        let answer = tokio::select! {
            () = shutdown.cancelled() => return,
            answer = self.send(&target, &row) => answer,
        };
        let latency = started.elapsed();
        metrics::ATTEMPT_LATENCY.observe(latency.as_secs_f64());
        let mut backoff = Duration::from_millis(100);
        while let Err(e) = self.record(&target, &row, &answer, latency).await {
            tracing::warn!(delivery_id = %row.id, error = %e, "recording a webhook attempt failed; retrying");
            if pause(shutdown, backoff).await {
                return;
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Posts `row`'s body to `target`, signed with its secrets.
    async fn send(&self, target: &endpoint::Model, row: &delivery::Model) -> Answer {
        let now = time::now();
        let timestamp = now.timestamp();
        let mut secrets = vec![target.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&target.previous_secret, target.tm_previous_secret_expire)
            && until > now
        {
            secrets.push(previous);
        }
        let signature = signing::header(secrets, &row.message_id, timestamp, &row.body);
        let headers = [
            ("webhook-id", row.message_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        match self
            .sender
            .post(&target.url, &headers, row.body.clone())
            .await
        {
            http::Answer::Status(status, body) => Answer {
                status: Some(status),
                body: Some(body),
                error: None,
            },
            http::Answer::Failed(why) => Answer {
                status: None,
                body: None,
                error: Some(why),
            },
        }
    }

    /// Records an attempt's outcome on the delivery and its endpoint; an
    /// endpoint failing for too long is disabled.
    async fn record(
        &self,
        target: &endpoint::Model,
        row: &delivery::Model,
        answer: &Answer,
        latency: Duration,
    ) -> Result<(), DbErr> {
        let now = time::now();
        let attempts = row.attempts.saturating_add(1);
        let ok = answer.status.is_some_and(|s| (200..300).contains(&s));
        let retry = match ok {
            true => None,
            false => self
                .settings
                .schedule
                .after(u32::try_from(attempts).unwrap_or(u32::MAX)),
        };
        let (status, outcome) = match (ok, retry) {
            (true, _) => (deliveries::SUCCEEDED, "succeeded"),
            (false, Some(_)) => (deliveries::PENDING, "failed"),
            (false, None) => (deliveries::FAILED, "exhausted"),
        };
        let txn = self.db.begin().await?;
        deliveries::record(
            &txn,
            row.id,
            Attempt {
                attempts,
                status,
                next: retry.map(|d| later(now, d)),
                response_status: answer.status.map(i32::from),
                latency_ms: i32::try_from(latency.as_millis()).unwrap_or(i32::MAX),
                response_body: answer.body.clone(),
                error: answer.error.clone(),
            },
            now,
        )
        .await?;
        let (mut disabled, mut notices) = (false, 0);
        if ok {
            endpoints::succeeded(&txn, target.id).await?;
        } else if let Some(after) = endpoints::failed(&txn, target.id, now).await?
            && let Some(since) = after.tm_failing_since
            && after.disabled_reason.is_none()
            && (now - since).to_std().unwrap_or_default() >= self.settings.disable_after
        {
            notices = manage::disable_failing(&txn, &after, now).await?;
            disabled = true;
        }
        txn.commit().await?;
        metrics::DELIVERIES.with_label_values(&[outcome]).inc();
        if disabled {
            tracing::warn!(
                webhook_id = %target.id,
                customer_id = %target.customer_id,
                notices,
                "webhook endpoint disabled: every attempt failed for too long"
            );
            self.wake.notify_one();
        }
        Ok(())
    }
}

/// `now` plus `delay`.
fn later(now: Timestamp, delay: Duration) -> Timestamp {
    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}
