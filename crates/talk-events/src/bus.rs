//! The bus abstraction shared by NATS JetStream and the in-process bus.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use prost::Message as _;
use talk_proto::EventEnvelope;

use crate::signal::{BoardStream, Signal, SignalStream};
use crate::watch::{Filtered, Watch};

/// An event as delivered, with its position in the bus's total order.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Position in the stream: the WebSocket cursor.
    pub seq: u64,
    /// The event.
    pub envelope: EventEnvelope,
}

impl Delivery {
    /// Decodes a delivery from raw bytes.
    pub fn decode(seq: u64, payload: &[u8]) -> Result<Self, BusError> {
        let envelope = EventEnvelope::decode(payload)
            .map_err(|e| BusError::Decode(format!("event at {seq}: {e}")))?;
        Ok(Self { seq, envelope })
    }
}

/// An event on its way to the bus.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The subject.
    pub subject: String,
    /// The event id (de-duplication key).
    pub event_id: String,
    /// W3C trace context, carried as a header.
    pub traceparent: String,
    /// The encoded envelope.
    pub payload: Bytes,
}

/// Where a subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Only events published from now on.
    New,
    /// Every event after this cursor, then live events.
    After(u64),
}

/// A stream of deliveries in bus order.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Delivery, BusError>> + Send>>;

/// Bus failures.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus cannot be reached; the caller retries.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The cursor is older than the retained history (or unknown): resync over REST.
    #[error("cursor {cursor} is outside the retained history (first retained: {first})")]
    CursorExpired {
        /// The cursor asked for.
        cursor: u64,
        /// The oldest retained position.
        first: u64,
    },
    /// An event could not be decoded.
    #[error("undecodable event: {0}")]
    Decode(String),
    /// A watch may have skipped an event it can no longer return in order.
    #[error("events may have been missed: {0}")]
    Gap(String),
}

/// A bus of domain events with a total order and a retained history.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes one event and waits until the bus has stored it; returns its position.
    /// `event_id` de-duplicates a re-publish of the same event.
    async fn publish(
        &self,
        subject: &str,
        event_id: &str,
        traceparent: &str,
        payload: Bytes,
    ) -> Result<u64, BusError>;

    /// Publishes a batch in order and waits for all of them; on failure, says how
    /// many leading events were stored.
    async fn publish_batch(&self, batch: Vec<Outgoing>) -> Result<(), (usize, BusError)> {
        for (done, event) in batch.into_iter().enumerate() {
            self.publish(
                &event.subject,
                &event.event_id,
                &event.traceparent,
                event.payload,
            )
            .await
            .map_err(|e| (done, e))?;
        }
        Ok(())
    }

    /// Every event from `start` on, in order, then live events.
    async fn subscribe(&self, start: Start) -> Result<EventStream, BusError>;

    /// The events of the talks added to the watch plus every participant
    /// event, after `after` (see [`crate::watch`]). The default filters a
    /// subscription to the whole bus.
    async fn watch(&self, after: u64) -> Result<Box<dyn Watch>, BusError> {
        let stream = self.subscribe(Start::After(after)).await?;
        Ok(Box::new(Filtered::new(stream, after)))
    }

    /// Publishes an ephemeral signal: not stored, never replayed, best
    /// effort (see [`crate::signal`]).
    async fn signal(&self, signal: &Signal) -> Result<(), BusError>;

    /// Every signal published from now on, while the stream is held.
    async fn signals(&self) -> Result<SignalStream, BusError>;

    /// Writes `key`'s entry of the presence board shared by the gateways
    /// (on NATS a memory stream keeping one message per key, which forgets
    /// an entry not written again for [`crate::signal::PRESENCE_TTL`]).
    async fn board_put(&self, key: &str, entry: &Signal) -> Result<(), BusError>;

    /// Deletes `key`'s entry of the presence board.
    async fn board_delete(&self, key: &str) -> Result<(), BusError>;

    /// Every entry of the presence board, then every change.
    async fn board_watch(&self) -> Result<BoardStream, BusError>;

    /// The position of the newest stored event (0 when empty).
    async fn last_seq(&self) -> Result<u64, BusError>;

    /// Whether the bus is reachable (for `/readyz`).
    async fn ready(&self) -> bool;
}
