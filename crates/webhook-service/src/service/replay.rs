//! Replays: every event the bus still keeps after a position (a delivery's
//! `event_seq`) or since a time, that the endpoint's filters match, is
//! queued again — with the `webhook-id` it had, so a receiver that already
//! has it can tell. The bus is read up to its newest event as the replay
//! began; what comes after reaches the endpoint as usual. An agent's
//! endpoint is replayed the talks its agent is in now.

use std::time::Duration;

use futures_util::StreamExt;
use talk_auth::Caller;
use talk_events::{BusError, Start};
use talk_proto::{ReplayWebhookResponse, WriteOptions};
use talk_store::idempotency::{Operation, Scope};
use talk_types::{ApiError, time};

use super::Webhooks;
use super::consumer::queued;
use super::endpoint::{Endpoint, Members};
use super::event;
use crate::db::queries::{agent_talks, deliveries};
use crate::error::{Problem, db};

/// Deliveries written per transaction of a replay.
const CHUNK: usize = 500;
/// Longest wait for the bus's next event.
const PATIENCE: Duration = Duration::from_secs(10);

impl Webhooks {
    /// Queues the matching events after `after_seq` (when not 0) or since
    /// `since_micros`; answers how many deliveries were queued. A retry
    /// with the same key waits for the first to end and gets its answer.
    pub async fn replay(
        &self,
        caller: &Caller,
        id: &str,
        after_seq: u64,
        since_micros: i64,
        options: Option<&WriteOptions>,
    ) -> Result<ReplayWebhookResponse, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::ReplayWebhook, id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let row = self.own(caller, id).await?;
        if after_seq == 0 && since_micros <= 0 {
            return Err(Problem::InvalidReplay
                .with("A replay needs \"after\" (a delivery's event_seq) or \"since\" (a time)."));
        }
        if row.disabled_reason.is_some() {
            return Err(Problem::InvalidReplay.with("The webhook is disabled; enable it first."));
        }
        // The key stays claimed while the events are queued (in chunks, each
        // committed: a replay that fails half way is retried whole, its
        // repeats carrying the webhook-ids receivers already saw).
        let claim = match self.open(&scope, options).await? {
            Ok(write) => write,
            Err(answer) => return Ok(answer),
        };
        let target = Endpoint::from(row);
        let members: Members = match target.agent {
            Some(agent) => agent_talks::of(&self.db, agent)
                .await
                .map_err(db)?
                .into_iter()
                .map(|talk| (agent, talk))
                .collect(),
            None => Members::new(),
        };
        let bus_down = |_| ApiError::unavailable("event bus");
        let end = self.bus.last_seq().await.map_err(bus_down)?;
        if after_seq >= end {
            let answer = ReplayWebhookResponse { queued: 0 };
            claim.commit(&answer).await?;
            return Ok(answer);
        }
        let mut stream = match self.bus.subscribe(Start::After(after_seq)).await {
            Ok(stream) => stream,
            Err(BusError::CursorExpired { first, .. }) if after_seq == 0 => self
                .bus
                .subscribe(Start::After(first.saturating_sub(1)))
                .await
                .map_err(bus_down)?,
            Err(BusError::CursorExpired { first, .. }) => {
                return Err(Problem::InvalidReplay.with(format!(
                    "Events after {after_seq} are no longer kept; the oldest kept is {first}."
                )));
            }
            Err(e) => return Err(bus_down(e)),
        };
        let now = time::now();
        let (mut rows, mut total) = (Vec::new(), 0usize);
        loop {
            let next = tokio::time::timeout(PATIENCE, stream.next())
                .await
                .map_err(|_| ApiError::unavailable("event bus"))?;
            let delivery = match next {
                Some(Ok(delivery)) => delivery,
                Some(Err(BusError::Decode(_))) => continue,
                Some(Err(e)) => return Err(bus_down(e)),
                None => break,
            };
            if delivery.seq > end {
                break;
            }
            if let Some(event) = event::decode(&delivery)
                && event.occurred_at >= since_micros
                && target.wants(&event, &members)
            {
                rows.push(queued(&target, &event, now));
            }
            if rows.len() >= CHUNK {
                total += rows.len();
                deliveries::insert_many(&self.db, std::mem::take(&mut rows))
                    .await
                    .map_err(db)?;
                self.wake.notify_one();
            }
            if delivery.seq >= end {
                break;
            }
        }
        total += rows.len();
        deliveries::insert_many(&self.db, rows).await.map_err(db)?;
        self.wake.notify_one();
        tracing::info!(webhook_id = %target.id, queued = total, after_seq, since_micros, "webhook replay queued");
        let answer = ReplayWebhookResponse {
            queued: u32::try_from(total).unwrap_or(u32::MAX),
        };
        claim.commit(&answer).await?;
        Ok(answer)
    }
}
