//! The bus consumer: one subscription per gateway, every event dispatched to
//! the connections of its audience (or, without one, of the talk's current
//! participants). It never waits on a
//! socket; when the bus drops it, it resubscribes after its last position.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use talk_events::kinds::{self, Payload};
use talk_events::{Bus, BusError, Delivery, Start};
use talk_types::{AgentId, CustomerId, TalkId};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::queue::close;
use crate::routing::{Event, Hub};

/// Decodes a delivery into a routable event (None for an unknown kind or bad ids).
pub(crate) fn decode(delivery: &Delivery) -> Option<Event> {
    let envelope = &delivery.envelope;
    let (kind, payload) = kinds::decode(envelope)?;
    let customer: CustomerId = envelope.customer_id.parse().ok()?;
    let talk: TalkId = envelope.talk_id.parse().ok()?;
    let (data, owner) = match payload {
        Payload::Talk(t) => (serde_json::to_string(&talk_wire::Talk::from(t)), None),
        Payload::Participant(p) => {
            let owner = p.owner_id.clone();
            (
                serde_json::to_string(&talk_wire::Participant::from(p)),
                Some(owner),
            )
        }
        Payload::Message(m) => (serde_json::to_string(&talk_wire::Message::from(m)), None),
    };
    let subject = Some(envelope.subject_agent_id.as_str())
        .filter(|s| !s.is_empty())
        .or(owner.as_deref())
        .and_then(|s| s.parse::<AgentId>().ok());
    let audience = envelope
        .audience
        .iter()
        .filter_map(|a| a.parse::<AgentId>().ok())
        .collect();
    Some(Event {
        seq: delivery.seq,
        kind,
        customer,
        talk,
        subject,
        audience,
        data: data.ok()?,
    })
}

/// A span for one event's delivery, parented on the request that caused it.
pub(crate) fn span(delivery: &Delivery, stage: &'static str) -> tracing::Span {
    let envelope = &delivery.envelope;
    let span = tracing::info_span!(
        "ws.deliver",
        stage,
        event.kind = %envelope.kind,
        talk_id = %envelope.talk_id,
        cursor = delivery.seq,
    );
    talk_telemetry::propagation::set_parent(&span, &envelope.traceparent);
    span
}

/// Runs until `shutdown`: subscribe after the hub's position, dispatch, and
/// resubscribe (with back-off) when the bus fails.
pub(crate) async fn run(bus: Arc<dyn Bus>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = async {
            let start = match hub.live_seq() {
                Some(seq) => seq,
                None => {
                    let seq = bus.last_seq().await?;
                    hub.start_at(seq);
                    seq
                }
            };
            bus.subscribe(Start::After(start)).await
        };
        let subscribed = tokio::select! {
            () = shutdown.cancelled() => return,
            subscribed = attempt => subscribed,
        };
        match subscribed {
            Ok(stream) => {
                backoff = Duration::from_millis(100);
                if consume(stream, &hub, &shutdown).await {
                    return;
                }
            }
            Err(BusError::CursorExpired { cursor, first }) => {
                // Events this gateway had not dispatched are gone: every client resumes
                // with its own cursor (and learns whether it must resync).
                tracing::warn!(
                    cursor,
                    first,
                    "push consumer fell out of the retained history"
                );
                hub.start_at(first.saturating_sub(1));
                hub.close_all(
                    close::SLOW_CONSUMER,
                    "events were missed, resume with your cursor",
                );
                continue;
            }
            Err(e) => tracing::warn!(error = %e, "push consumer cannot subscribe; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Dispatches until the stream ends or fails (false) or shutdown (true).
async fn consume(
    mut stream: talk_events::EventStream,
    hub: &Hub,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return true,
            next = stream.next() => next,
        };
        match next {
            Some(Ok(delivery)) => {
                let span = span(&delivery, "live");
                async {
                    let event = decode(&delivery);
                    if event.is_none() {
                        tracing::warn!(kind = %delivery.envelope.kind, "undecodable event skipped");
                    }
                    let delivered = hub.dispatch(event.as_ref(), delivery.seq);
                    tracing::debug!(delivered, "event dispatched");
                }
                .instrument(span)
                .await;
            }
            Some(Err(BusError::Decode(e))) => {
                tracing::warn!(error = %e, "undecodable event skipped");
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "push consumer lost the bus; resubscribing");
                return false;
            }
            None => {
                tracing::warn!("push consumer stream ended; resubscribing");
                return false;
            }
        }
    }
}
