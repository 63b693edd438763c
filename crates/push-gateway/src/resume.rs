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

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use talk_events::{Bus, BusError, Start};
use talk_proto::DeletedAmongRequest;
use talk_proto::message_service_client::MessageServiceClient;
use talk_runtime::Channel;
use talk_types::CustomerId;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::consumer;
use crate::protocol;
use crate::queue::{self, Queue, close};
use crate::routing::{ConnId, Event, Hub};

/// Replays events after `cursor` for connection `id` (of `customer`), then
/// switches it to live. Events are read in windows of what the bus has ready
/// (at most [`WINDOW`]); the messages of each window that have been deleted
/// since are asked of message-service in one call and replayed redacted (no
/// text, no media, their `tm_delete`), so a resume never shows deleted text.
pub(crate) async fn replay(replay: Replay) {
    let Replay {
        bus,
        hub,
        messages,
        id,
        customer,
        queue,
        cursor,
        cancel,
    } = replay;
    let stream = match bus.subscribe(Start::After(cursor)).await {
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
    let mut stream = stream.ready_chunks(WINDOW);
    let mut progress = hub.progress();
    let mut replayed = cursor;
    let mut count = 0u64;
    let interrupted = || {
        queue.close(
            close::SLOW_CONSUMER,
            "resume interrupted, retry with your cursor",
            false,
        );
    };
    loop {
        if hub.try_go_live(id, replayed) {
            tracing::debug!(cursor, replayed, count, "resume caught up");
            return;
        }
        let window = tokio::select! {
            () = cancel.cancelled() => return,
            changed = progress.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return,
            },
            window = stream.next() => window,
        };
        let Some(window) = window else {
            return interrupted();
        };
        let events: Vec<Option<Event>> = window
            .iter()
            .map(|next| next.as_ref().ok().and_then(consumer::decode))
            .collect();
        let Ok(deleted) = deleted_among(&messages, customer, &events).await else {
            return interrupted();
        };
        for (next, event) in window.into_iter().zip(events) {
            let delivery = match next {
                Ok(delivery) => delivery,
                Err(BusError::Decode(e)) => {
                    tracing::warn!(error = %e, "undecodable event skipped in replay");
                    continue;
                }
                Err(BusError::CursorExpired { cursor, first }) => {
                    queue.control(protocol::resync_required(cursor, first));
                    hub.go_live_now(id);
                    return;
                }
                Err(BusError::Unavailable(e) | BusError::Gap(e)) => {
                    tracing::warn!(error = %e, replayed, "resume interrupted");
                    return interrupted();
                }
            };
            let frame = {
                let _span = consumer::span(&delivery, "replay").entered();
                event.and_then(|mut event| {
                    if let Some(at) = event.message.as_ref().and_then(|m| deleted.get(m)) {
                        event.data = redacted(&event.data, *at);
                    }
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
            if hub.try_go_live(id, replayed) {
                tracing::debug!(cursor, replayed, count, "resume caught up");
                return;
            }
        }
    }
}

/// What a replay needs: where it reads and asks, for which connection, from where.
pub(crate) struct Replay {
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) messages: MessageServiceClient<Channel>,
    pub(crate) id: ConnId,
    pub(crate) customer: CustomerId,
    pub(crate) queue: Arc<Queue>,
    pub(crate) cursor: u64,
    pub(crate) cancel: CancellationToken,
}

/// Events read at most at once in a replay (and message ids asked about in
/// one `DeletedAmong`).
const WINDOW: usize = 256;

/// The deleted messages among those of `events`, with their `tm_delete`.
async fn deleted_among(
    messages: &MessageServiceClient<Channel>,
    customer: CustomerId,
    events: &[Option<Event>],
) -> Result<HashMap<String, i64>, ()> {
    let ids: Vec<String> = events
        .iter()
        .flatten()
        .filter_map(|event| event.message.clone())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let request = talk_runtime::grpc::request(DeletedAmongRequest {
        customer_id: customer.to_string(),
        message_ids: ids,
    });
    match messages.clone().deleted_among(request).await {
        Ok(answer) => {
            let answer = answer.into_inner();
            Ok(answer
                .message_ids
                .into_iter()
                .zip(answer.tm_delete)
                .collect())
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "deleted messages unknown; resume interrupted");
            Err(())
        }
    }
}

/// A message's JSON as it is once deleted at `tm_delete`: no text, no media.
fn redacted(data: &str, tm_delete: i64) -> String {
    let Ok(mut message) = serde_json::from_str::<serde_json::Value>(data) else {
        return data.to_owned();
    };
    message["text"] = "".into();
    message["medias"] = serde_json::Value::Array(Vec::new());
    if let Some(at) = talk_types::time::from_micros(tm_delete) {
        message["tm_delete"] = talk_types::time::format(&at).into();
    }
    message.to_string()
}
