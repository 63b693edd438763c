//! A watch: the events of the talks its owner follows (one by one, or every
//! talk of a customer) plus every participant event (so the owner learns when a talk gains a member it
//! cares about), in bus order, with no gap — a consumer that must not read
//! the whole bus (a push-gateway follows the talks of its connected agents).
//!
//! The contract: after [`Watch::add`] returns position `p`, every event of
//! the added scopes positioned after `p` will be returned, in bus order; an
//! event is returned at most once. Events of those talks between `from` and
//! `p` may or may not be (the JetStream watch reads them from the stream, the
//! in-process one has already dropped them): whoever needs them — a client
//! resuming from an older cursor — reads the bus itself up to `p` at least. `Err(BusError::Gap)` from
//! `next` means the watch may have skipped an event it cannot return in order
//! any more: the caller treats its position as lost. The JetStream
//! implementation subscribes to the per-talk subjects the stream republishes
//! (`nats::NatsBus::watch`); the in-process bus filters its one stream
//! ([`Filtered`]).

use std::collections::HashSet;

use async_trait::async_trait;
use futures_util::StreamExt;
use talk_types::{CustomerId, TalkId};

use crate::bus::{BusError, Delivery, EventStream};
use crate::kinds::EventKind;

/// What a watch follows: one talk, or every talk of a customer (for a
/// gateway with a customer admin connected, who may hear them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One talk's events.
    Talk(TalkId),
    /// The events of every talk of a customer.
    Customer(CustomerId),
}

/// See the module documentation.
#[async_trait]
pub trait Watch: Send {
    /// The next event in bus order (`None`: the bus closed the watch).
    /// Cancel-safe: dropping the future loses no event.
    async fn next(&mut self) -> Option<Result<Delivery, BusError>>;

    /// Watches more scopes: their events after the answered position will
    /// come, and those after `from` (or after the last event `next` returned,
    /// if later) may (see the module documentation). Answers the position the
    /// watch has read the bus to: a connection that starts now may start
    /// there, and a replay for the added scopes must reach it.
    async fn add(&mut self, scopes: Vec<Scope>, from: u64) -> Result<u64, BusError>;

    /// Stops watching scopes (their participant events still come); when it
    /// returns, the bus no longer sends their events to the watch (unless
    /// another scope it still watches covers them).
    async fn remove(&mut self, scopes: &[Scope]) -> Result<(), BusError>;

    /// Every event of the watch up to this position has been returned by
    /// `next` (it may be ahead of the last one returned).
    fn position(&self) -> u64;

    /// Messages the watch's own subscriptions received from the bus (0 for a
    /// watch that reads a shared stream).
    fn received(&self) -> u64 {
        0
    }
}

/// Whether an event belongs to every watch whatever its talk.
pub(crate) fn is_membership(kind: &str) -> bool {
    kind == EventKind::ParticipantJoined.name() || kind == EventKind::ParticipantLeft.name()
}

/// A watch that reads the whole stream and drops what it does not watch: the
/// in-process bus's (its stream is the process's own memory).
pub struct Filtered {
    stream: EventStream,
    talks: HashSet<String>,
    customers: HashSet<String>,
    position: u64,
}

impl Filtered {
    /// Filters `stream`, which starts after `after`.
    pub fn new(stream: EventStream, after: u64) -> Self {
        Self {
            stream,
            talks: HashSet::new(),
            customers: HashSet::new(),
            position: after,
        }
    }
}

#[async_trait]
impl Watch for Filtered {
    async fn next(&mut self) -> Option<Result<Delivery, BusError>> {
        loop {
            let item = self.stream.next().await?;
            if let Ok(delivery) = &item {
                self.position = delivery.seq;
                let envelope = &delivery.envelope;
                if !is_membership(&envelope.kind)
                    && !self.talks.contains(&envelope.talk_id)
                    && !self.customers.contains(&envelope.customer_id)
                {
                    continue;
                }
            }
            return Some(item);
        }
    }

    async fn add(&mut self, scopes: Vec<Scope>, _from: u64) -> Result<u64, BusError> {
        // What the stream still holds is after the position: returned from now on.
        for scope in scopes {
            match scope {
                Scope::Talk(talk) => self.talks.insert(talk.to_string()),
                Scope::Customer(customer) => self.customers.insert(customer.to_string()),
            };
        }
        Ok(self.position)
    }

    async fn remove(&mut self, scopes: &[Scope]) -> Result<(), BusError> {
        for scope in scopes {
            match scope {
                Scope::Talk(talk) => self.talks.remove(&talk.to_string()),
                Scope::Customer(customer) => self.customers.remove(&customer.to_string()),
            };
        }
        Ok(())
    }

    fn position(&self) -> u64 {
        self.position
    }
}
