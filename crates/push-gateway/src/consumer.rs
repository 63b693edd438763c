//! The bus consumer: one watch per gateway (the events of the talks its
//! connected agents are in, of every talk of its connected admins'
//! customers, plus every participant event), every event
//! dispatched to the connections of the talk's members and of its audience.
//! It never waits on a socket; when the bus drops it, it watches again after
//! its last position.

use std::sync::Arc;
use std::time::Duration;

use talk_events::kinds::{self, Payload};
use talk_events::{Bus, BusError, Delivery, Watch};
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
    let (resource, message) = match &payload {
        Payload::Message(m) => (m.id.clone(), Some(m.id.clone())),
        Payload::Talk(t) => (t.id.clone(), None),
        Payload::Participant(p) => (p.id.clone(), None),
        Payload::Read(r) => (r.agent_id.clone(), None),
    };
    let receipts = matches!(&payload, Payload::Read(r) if r.receipts);
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
        Payload::Read(r) => (Ok(read_mark(&r)), None),
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
        occurred_at: envelope.occurred_at,
        customer_id: customer.to_string(),
        talk_id: talk.to_string(),
        resource,
        message,
        receipts,
    })
}

/// `read_updated` / `message_read`'s data.
fn read_mark(read: &talk_proto::ReadMark) -> String {
    let tm_read = talk_types::time::from_micros(read.tm_read).map(|t| talk_types::time::format(&t));
    serde_json::json!({
        "chat_id": read.chat_id,
        "agent_id": read.agent_id,
        "seq": read.seq,
        "unread_count": read.unread_count,
        "tm_read": tm_read,
    })
    .to_string()
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

/// Runs until `shutdown`: watch the bus after the hub's position for the
/// hub's talks, dispatch, follow the hub's interest, and start a new watch
/// (with back-off) when the bus fails.
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
            let mut watch = bus.watch(start).await?;
            // A new watch follows nothing yet: every scope of the table.
            let scopes = hub.rewatch();
            let ready = watch.add(scopes.clone(), start).await?;
            hub.watching(&scopes, ready);
            Ok::<_, BusError>(watch)
        };
        let started = tokio::select! {
            () = shutdown.cancelled() => return,
            started = attempt => started,
        };
        match started {
            Ok(watch) => {
                backoff = Duration::from_millis(100);
                if consume(watch, &hub, &shutdown).await {
                    return;
                }
            }
            Err(e @ (BusError::CursorExpired { .. } | BusError::Gap(_))) => {
                lost_place(&hub, &e);
                continue;
            }
            Err(e) => tracing::warn!(error = %e, "push consumer cannot watch the bus; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Events this gateway had not dispatched are gone (or out of order): every
/// client resumes with its own cursor (and learns whether it must resync), and
/// the consumer starts again from the bus's end.
fn lost_place(hub: &Hub, error: &BusError) {
    tracing::warn!(error = %error, "push consumer lost its place; closing every socket");
    hub.reset();
    hub.close_all(
        close::SLOW_CONSUMER,
        "events were missed, resume with your cursor",
    );
}

/// Dispatches until the watch ends or fails (false) or shutdown (true).
async fn consume(mut watch: Box<dyn Watch>, hub: &Hub, shutdown: &CancellationToken) -> bool {
    loop {
        let next = tokio::select! {
            biased;
            () = shutdown.cancelled() => return true,
            () = hub.interest_changed() => {
                let (add, from, remove) = hub.interest_delta();
                if !remove.is_empty() {
                    if let Err(e) = watch.remove(&remove).await {
                        tracing::warn!(error = %e, "push consumer cannot drop scopes; watching afresh");
                        return false;
                    }
                    hub.unwatched(&remove);
                }
                if !add.is_empty() {
                    // Scopes only new connections want are followed from here on.
                    let from = from.unwrap_or_else(|| watch.position());
                    match watch.add(add.clone(), from).await {
                        Ok(ready) => hub.watching(&add, ready),
                        Err(e) => {
                            tracing::warn!(error = %e, "push consumer cannot follow new scopes; watching afresh");
                            return false;
                        }
                    }
                }
                continue;
            }
            next = watch.next() => next,
        };
        hub.set_received(watch.received());
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
            Some(Err(e @ BusError::Gap(_))) => {
                lost_place(hub, &e);
                return false;
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "push consumer lost the bus; watching afresh");
                return false;
            }
            None => {
                tracing::warn!("push consumer watch ended; watching afresh");
                return false;
            }
        }
    }
}
