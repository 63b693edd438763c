//! Resume: replay what a connection missed after its cursor, then hand it over
//! to the live consumer with no gap and no duplicate.
//!
//! While a connection resumes, the consumer skips it. The replay reads its own
//! bus subscription from the cursor, filtered for the connection exactly like
//! live delivery (current membership and topics), waiting for room in the
//! socket's queue instead of shedding. After each replayed event it asks the
//! hub, under the same lock the consumer dispatches with, whether it has
//! reached the consumer's position; if so the connection goes live and the
//! consumer delivers only events after the last replayed one.

use std::sync::Arc;

use futures_util::StreamExt;
use talk_events::{Bus, BusError, Start};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::consumer;
use crate::protocol;
use crate::queue::{self, Queue, close};
use crate::routing::{ConnId, Hub};

/// Replays events after `cursor` for connection `id`, then switches it to live.
pub(crate) async fn replay(
    bus: Arc<dyn Bus>,
    hub: Arc<Hub>,
    id: ConnId,
    queue: Arc<Queue>,
    cursor: u64,
    cancel: CancellationToken,
) {
    let mut stream = match bus.subscribe(Start::After(cursor)).await {
        Ok(stream) => stream,
        Err(BusError::CursorExpired { cursor, first }) => {
            queue.control(protocol::resync_required(cursor, first));
            hub.go_live_now(id);
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, cursor, "resume failed");
            queue.close(
                close::SLOW_CONSUMER,
                "resume failed, retry with your cursor",
                false,
            );
            return;
        }
    };
    let mut progress = hub.progress();
    let mut replayed = cursor;
    let mut count = 0u64;
    loop {
        if hub.try_go_live(id, replayed) {
            tracing::debug!(cursor, replayed, count, "resume caught up");
            return;
        }
        let next = tokio::select! {
            () = cancel.cancelled() => return,
            changed = progress.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return,
            },
            next = stream.next() => next,
        };
        match next {
            Some(Ok(delivery)) => {
                let frame = {
                    let _span = consumer::span(&delivery, "replay").entered();
                    consumer::decode(&delivery).and_then(|event| {
                        hub.replay_frame(id, &event)
                            .map(|frame| (frame, event.kind))
                    })
                };
                if let Some((frame, kind)) = frame {
                    let queued = queue
                        .push_wait(frame, queue::sheddable(kind))
                        .instrument(tracing::debug_span!("ws.replay_wait"))
                        .await;
                    if !queued {
                        return;
                    }
                    count += 1;
                    talk_telemetry::metrics::WS_DELIVERIES
                        .with_label_values(&[kind.name()])
                        .inc();
                }
                replayed = delivery.seq;
            }
            Some(Err(BusError::Decode(e))) => {
                tracing::warn!(error = %e, "undecodable event skipped in replay");
            }
            Some(Err(BusError::CursorExpired { cursor, first })) => {
                queue.control(protocol::resync_required(cursor, first));
                hub.go_live_now(id);
                return;
            }
            Some(Err(BusError::Unavailable(e) | BusError::Gap(e))) => {
                tracing::warn!(error = %e, replayed, "resume interrupted");
                queue.close(
                    close::SLOW_CONSUMER,
                    "resume interrupted, retry with your cursor",
                    false,
                );
                return;
            }
            None => {
                queue.close(
                    close::SLOW_CONSUMER,
                    "resume interrupted, retry with your cursor",
                    false,
                );
                return;
            }
        }
    }
}
