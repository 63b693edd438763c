//! The JetStream [`Watch`]: core NATS subscriptions to the subjects the
//! stream republishes (`<prefix>-live.<customer>.<talk>.<kind>`, each carrying
//! its stream sequence), one per watched talk or customer plus two for every
//! participant event, on a connection of the watch's own.
//!
//! Order and completeness rest on three facts:
//! - the stream republishes in stream order and NATS keeps a publisher's order
//!   on one connection, and async-nats hands the messages of one connection to
//!   the subscriptions' channels from a single task in arrival order. So once
//!   a message with sequence `s` has been taken from one channel, every
//!   message for this watch before `s` is already in some channel: draining
//!   every channel and sorting gives bus order ([`drain`]);
//! - events a subscription could not have received — those of a talk before it
//!   was subscribed, or published while the connection was down — are read from
//!   the stream itself (`catch_up`) between the watch's position and the
//!   stream's last sequence, after a flush has made sure the subscriptions are
//!   registered and everything republished up to there has arrived;
//! - every republished message carries `Nats-Last-Sequence`, the previous
//!   sequence on its subject: an event a subscription should have had but did
//!   not is noticed, read from the stream if it is still ahead of the watch,
//!   and reported as [`BusError::Gap`] if the watch already went past it (as is
//!   a subscription that async-nats had to drop messages from).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{BoxStream, SelectAll};
use futures_util::{StreamExt, future};
use tokio::sync::{Notify, oneshot};

use super::{NatsBus, unavailable};
use crate::bus::{Bus, BusError, Delivery, Start};
use crate::kinds;
use crate::watch::{Scope, Watch, is_membership};

/// How long reading the stream for a catch-up may take.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(10);

struct Watched {
    /// The watch's position when the scope was added: its earlier events are not expected.
    since: u64,
    /// The newest sequence seen per subject (talk and event kind), for the gap check.
    last: HashMap<(String, String), u64>,
    /// Dropping it ends the scope's subscription.
    _stop: oneshot::Sender<()>,
}

impl Watched {
    /// The newest sequence known on the envelope's subject.
    fn last(&mut self, envelope: &talk_proto::EventEnvelope) -> &mut u64 {
        self.last
            .entry((envelope.talk_id.clone(), envelope.kind.clone()))
            .or_default()
    }
}

pub(super) struct NatsWatch {
    bus: NatsBus,
    client: async_nats::Client,
    live_prefix: String,
    live: SelectAll<BoxStream<'static, async_nats::Message>>,
    /// Watched talks, by id.
    talks: HashMap<String, Watched>,
    /// Watched customers (every talk of theirs), by id.
    customers: HashMap<String, Watched>,
    /// Events not returned yet, by sequence.
    pending: BTreeMap<u64, Delivery>,
    /// Every event of the watch up to here is in `pending` or was returned.
    frontier: u64,
    /// The last sequence returned.
    emitted: u64,
    /// The connection's connect count when the watch last caught up.
    connects: u64,
    slow: Arc<AtomicU64>,
    slow_seen: u64,
    /// Notified when the connection is re-established.
    reconnected: Arc<Notify>,
}

impl NatsWatch {
    /// A watch after `after`, on a connection of its own.
    pub(super) async fn start(bus: NatsBus, after: u64) -> Result<Self, BusError> {
        let slow = Arc::new(AtomicU64::new(0));
        let reconnected = Arc::new(Notify::new());
        let (counter, connected) = (slow.clone(), reconnected.clone());
        let client = async_nats::ConnectOptions::new()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .event_callback(move |event| {
                let (counter, connected) = (counter.clone(), connected.clone());
                async move {
                    match event {
                        async_nats::Event::SlowConsumer(_) => {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        async_nats::Event::Connected => connected.notify_one(),
                        _ => {}
                    }
                }
            })
            .connect(&bus.settings.url)
            .await
            .map_err(unavailable)?;
        let live_prefix = bus.live_prefix();
        let mut watch = Self {
            connects: client.statistics().connects.load(Ordering::Relaxed),
            bus,
            client,
            live: SelectAll::new(),
            talks: HashMap::new(),
            customers: HashMap::new(),
            pending: BTreeMap::new(),
            frontier: after,
            emitted: after,
            slow_seen: 0,
            slow,
            reconnected,
            live_prefix,
        };
        for kind in [
            kinds::EventKind::ParticipantJoined,
            kinds::EventKind::ParticipantLeft,
        ] {
            let subject = format!("{}.*.*.{}", watch.live_prefix, kind.name());
            watch.subscribe(subject, None).await?;
        }
        watch.catch_up(after).await?;
        Ok(watch)
    }

    async fn subscribe(
        &mut self,
        subject: String,
        stop: Option<oneshot::Receiver<()>>,
    ) -> Result<(), BusError> {
        let subscriber = self.client.subscribe(subject).await.map_err(unavailable)?;
        match stop {
            Some(stop) => self.live.push(subscriber.take_until(stop).boxed()),
            None => self.live.push(subscriber.boxed()),
        }
        Ok(())
    }

    fn wants(&self, envelope: &talk_proto::EventEnvelope) -> bool {
        is_membership(&envelope.kind)
            || self.talks.contains_key(&envelope.talk_id)
            || self.customers.contains_key(&envelope.customer_id)
    }

    /// The watched scopes of `scope`'s kind, and its key there.
    fn scope(&mut self, scope: Scope) -> (&mut HashMap<String, Watched>, String) {
        match scope {
            Scope::Talk(talk) => (&mut self.talks, talk.to_string()),
            Scope::Customer(customer) => (&mut self.customers, customer.to_string()),
        }
    }

    /// The scope an event came by, for its gap check (the talk's own when
    /// both it and its customer are watched).
    fn watched(&mut self, envelope: &talk_proto::EventEnvelope) -> Option<&mut Watched> {
        match self.talks.get_mut(&envelope.talk_id) {
            Some(watched) => Some(watched),
            None => self.customers.get_mut(&envelope.customer_id),
        }
    }

    /// Reads the stream after `from` to its current end for whatever the
    /// subscriptions may have missed, then takes everything the subscriptions
    /// received up to there.
    async fn catch_up(&mut self, from: u64) -> Result<(), BusError> {
        let connects = self.client.statistics().connects.load(Ordering::Relaxed);
        // Our subscriptions are registered with the server from here on.
        self.client.flush().await.map_err(unavailable)?;
        let until = self.bus.last_seq().await?;
        if until > from {
            let read = tokio::time::timeout(CATCH_UP_TIMEOUT, self.read_stream(from, until)).await;
            read.map_err(|_| BusError::Unavailable("catch-up read timed out".into()))??;
        }
        // Everything republished up to `until` has reached the channels.
        self.client.flush().await.map_err(unavailable)?;
        let mut batch = Vec::new();
        drain(&mut self.live, &mut batch).await;
        self.absorb(batch)?;
        self.frontier = self.frontier.max(until);
        self.connects = connects;
        Ok(())
    }

    async fn read_stream(&mut self, from: u64, until: u64) -> Result<(), BusError> {
        let mut stream = match self.bus.subscribe(Start::After(from)).await {
            // The watch sat idle past the retention: what expired was older
            // than any of its connections' interest in it.
            Err(BusError::CursorExpired { first, .. }) => {
                tracing::warn!(from, first, "watch position left the retained history");
                self.bus
                    .subscribe(Start::After(first.saturating_sub(1)))
                    .await?
            }
            other => other?,
        };
        while let Some(item) = stream.next().await {
            let delivery = match item {
                Ok(delivery) => delivery,
                Err(BusError::Decode(e)) => {
                    tracing::warn!(error = %e, "undecodable event skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let seq = delivery.seq;
            let envelope = &delivery.envelope;
            if seq > self.emitted && self.wants(envelope) {
                if let Some(watched) = self.watched(envelope) {
                    let last = watched.last(envelope);
                    *last = (*last).max(seq);
                }
                self.pending.entry(seq).or_insert(delivery);
            }
            if seq >= until {
                break;
            }
        }
        Ok(())
    }

    /// Files received messages in `pending`, checking each subject's chain.
    /// Ok(true): an event ahead of the watch is missing, catch up.
    fn absorb(&mut self, batch: Vec<async_nats::Message>) -> Result<bool, BusError> {
        let mut batch: Vec<(u64, u64, async_nats::Message)> = batch
            .into_iter()
            .filter_map(|message| {
                let seq = header_u64(&message, "Nats-Sequence")?;
                let previous = header_u64(&message, "Nats-Last-Sequence").unwrap_or(0);
                Some((seq, previous, message))
            })
            .collect();
        batch.sort_by_key(|(seq, _, _)| *seq);
        let mut missing = false;
        for (seq, previous, message) in batch {
            self.frontier = self.frontier.max(seq);
            if seq <= self.emitted || self.pending.contains_key(&seq) {
                continue;
            }
            let delivery = match Delivery::decode(seq, &message.payload) {
                Ok(delivery) => delivery,
                Err(e) => {
                    tracing::warn!(error = %e, "undecodable event skipped");
                    continue;
                }
            };
            let envelope = &delivery.envelope;
            if !self.wants(envelope) {
                continue;
            }
            let emitted = self.emitted;
            if let Some(watched) = self.watched(envelope) {
                let since = watched.since;
                let last = watched.last(envelope);
                let known = (*last).max(since);
                if previous > known {
                    if previous <= emitted {
                        return Err(BusError::Gap(format!(
                            "event {previous} of talk {} was never received",
                            envelope.talk_id
                        )));
                    }
                    missing = true;
                }
                *last = (*last).max(seq);
            }
            self.pending.insert(seq, delivery);
        }
        Ok(missing)
    }
}

#[async_trait]
impl Watch for NatsWatch {
    async fn next(&mut self) -> Option<Result<Delivery, BusError>> {
        loop {
            if let Some(entry) = self.pending.first_entry()
                && *entry.key() <= self.frontier
            {
                let delivery = entry.remove();
                self.emitted = delivery.seq;
                return Some(Ok(delivery));
            }
            let slow = self.slow.load(Ordering::Relaxed);
            if slow != self.slow_seen {
                self.slow_seen = slow;
                return Some(Err(BusError::Gap(
                    "the watch's connection dropped messages (slow consumer)".into(),
                )));
            }
            let first = tokio::select! {
                first = self.live.next() => first?,
                // Events published while the connection was down never reach
                // the subscriptions: read them from the stream.
                () = self.reconnected.notified() => {
                    if let Err(e) = self.catch_up(self.emitted).await {
                        return Some(Err(e));
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            drain(&mut self.live, &mut batch).await;
            let missing = match self.absorb(batch) {
                Ok(missing) => missing,
                Err(e) => return Some(Err(e)),
            };
            let reconnected =
                self.client.statistics().connects.load(Ordering::Relaxed) != self.connects;
            if (missing || reconnected)
                && let Err(e) = self.catch_up(self.emitted).await
            {
                return Some(Err(e));
            }
        }
    }

    async fn add(&mut self, scopes: Vec<Scope>, from: u64) -> Result<u64, BusError> {
        let from = from.max(self.emitted);
        let mut added = false;
        for scope in scopes {
            let (watched, key) = self.scope(scope);
            if watched.contains_key(&key) {
                continue;
            }
            let subject = match scope {
                Scope::Talk(talk) => format!("{}.*.{talk}.>", self.live_prefix),
                Scope::Customer(customer) => format!("{}.{customer}.>", self.live_prefix),
            };
            let (stop, stopped) = oneshot::channel();
            self.subscribe(subject, Some(stopped)).await?;
            self.scope(scope).0.insert(
                key,
                Watched {
                    since: from,
                    last: HashMap::new(),
                    _stop: stop,
                },
            );
            added = true;
        }
        if added {
            self.catch_up(from).await?;
        }
        Ok(self.frontier)
    }

    async fn remove(&mut self, scopes: &[Scope]) -> Result<(), BusError> {
        for &scope in scopes {
            let (watched, key) = self.scope(scope);
            watched.remove(&key);
        }
        // Polling ends the stopped subscriptions, which unsubscribes them; the
        // flush makes sure the server has done so. What arrived meanwhile is kept.
        let mut batch = Vec::new();
        drain(&mut self.live, &mut batch).await;
        self.absorb(batch)?;
        self.client.flush().await.map_err(unavailable)
    }

    fn received(&self) -> u64 {
        self.client.statistics().in_messages.load(Ordering::Relaxed)
    }

    fn position(&self) -> u64 {
        let settled = match self.pending.first_key_value() {
            Some((&first, _)) => self.frontier.min(first - 1),
            None => self.frontier,
        };
        settled.max(self.emitted)
    }
}

fn header_u64(message: &async_nats::Message, name: &str) -> Option<u64> {
    message.headers.as_ref()?.get(name)?.as_str().parse().ok()
}

/// A waker that notes it was woken, then wakes the task.
struct Flag {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

/// Moves every message already in the subscriptions' channels to `into`,
/// without waiting. `SelectAll` may answer `Pending` only to yield (waking
/// itself first), and tokio's cooperative budget may too: polling with a
/// waker that notes such a wake-up, outside the budget, tells a real
/// `Pending` (nothing left) from a yield.
async fn drain(
    live: &mut SelectAll<BoxStream<'static, async_nats::Message>>,
    into: &mut Vec<async_nats::Message>,
) {
    tokio::task::unconstrained(future::poll_fn(|cx| {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(false),
            task: cx.waker().clone(),
        });
        let waker = Waker::from(flag.clone());
        let mut inner = Context::from_waker(&waker);
        loop {
            match live.poll_next_unpin(&mut inner) {
                Poll::Ready(Some(message)) => into.push(message),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending if flag.woken.swap(false, Ordering::SeqCst) => {}
                Poll::Pending => return Poll::Ready(()),
            }
        }
    }))
    .await;
}
