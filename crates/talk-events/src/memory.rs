//! The in-process bus of the embedded default: a bounded history plus a
//! broadcast of live events, with the same contract as JetStream. With a
//! [`Journal`] (what `talk serve all` runs with) the history is durable: an
//! event is in the journal before it has a position anyone can see, and a
//! restarted process goes on from the journal's positions, so a client's
//! cursor stays valid across a crash.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::{Bus, BusError, Delivery, EventStream, Outgoing, Start};
use crate::signal::{BoardChange, BoardStream, Signal, SignalStream};

/// Signals buffered for each reader of the in-process bus.
const SIGNAL_BUFFER: usize = 4096;

/// One event of the in-process bus at its position, as its journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its position (the cursor).
    pub seq: u64,
    /// Its event id (de-duplicates a re-publish).
    pub event_id: String,
    /// The encoded envelope.
    pub payload: Bytes,
}

/// Durable storage of the in-process bus's history.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// The newest `limit` entries, oldest first.
    async fn load(&self, limit: usize) -> Result<Vec<Entry>, BusError>;

    /// Stores `entries` (consecutive, after every stored one) durably, all or
    /// none, and forgets the entries before position `keep_from`.
    async fn append(&self, entries: &[Entry], keep_from: u64) -> Result<(), BusError>;
}

struct State {
    history: VecDeque<Entry>,
    /// Position of every event in `history`, by event id.
    ids: HashMap<String, u64>,
    last_seq: u64,
}

/// An in-process bus that keeps the newest `capacity` events for resume.
#[derive(Clone)]
pub struct MemoryBus {
    state: Arc<Mutex<State>>,
    live: broadcast::Sender<Entry>,
    capacity: usize,
    journal: Option<Arc<dyn Journal>>,
    /// One publisher at a time: positions are handed out in journal order.
    publishing: Arc<tokio::sync::Mutex<()>>,
    /// Ephemeral signals: a broadcast, no history.
    signals: broadcast::Sender<Signal>,
    /// The presence board: its entries and a broadcast of its changes.
    board: Arc<Mutex<HashMap<String, Signal>>>,
    board_changes: broadcast::Sender<BoardChange>,
}

impl MemoryBus {
    /// A bus retaining at most `capacity` events, in memory only (a restart
    /// forgets them).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (live, _) = broadcast::channel(capacity.min(65_536));
        Self {
            state: Arc::new(Mutex::new(State {
                history: VecDeque::with_capacity(capacity.min(65_536)),
                ids: HashMap::new(),
                last_seq: 0,
            })),
            live,
            capacity,
            journal: None,
            publishing: Arc::default(),
            signals: broadcast::channel(SIGNAL_BUFFER).0,
            board: Arc::default(),
            board_changes: broadcast::channel(SIGNAL_BUFFER).0,
        }
    }

    /// A bus whose history is kept in `journal`: it starts with the newest
    /// `capacity` events stored there, and positions go on after them.
    pub async fn durable(capacity: usize, journal: Arc<dyn Journal>) -> Result<Self, BusError> {
        let mut bus = Self::new(capacity);
        let entries = journal.load(bus.capacity).await?;
        {
            let mut state = bus.lock();
            for entry in entries {
                state.last_seq = entry.seq;
                state.ids.insert(entry.event_id.clone(), entry.seq);
                state.history.push_back(entry);
            }
        }
        bus.journal = Some(journal);
        Ok(bus)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events after `after`, or `CursorExpired` when some were already evicted.
    fn replay(&self, after: u64) -> Result<Vec<Entry>, BusError> {
        let state = self.lock();
        let first = state.history.front().map_or(state.last_seq + 1, |s| s.seq);
        if after > state.last_seq || after + 1 < first {
            return Err(BusError::CursorExpired {
                cursor: after,
                first,
            });
        }
        Ok(state
            .history
            .iter()
            .filter(|s| s.seq > after)
            .cloned()
            .collect())
    }

    /// Stores events in order and answers their positions. A re-published
    /// event (the relay retrying after a crash) keeps its position. New
    /// events reach the journal before they get a position that a reader can
    /// see (Synapse's rule: a position is handed out only once everything up
    /// to it is durable), then the history and the live broadcast.
    async fn store(&self, events: Vec<(String, Bytes)>) -> Result<Vec<u64>, BusError> {
        let _turn = self.publishing.lock().await;
        let mut positions = Vec::with_capacity(events.len());
        let mut fresh: Vec<Entry> = Vec::new();
        {
            let state = self.lock();
            let mut next = state.last_seq;
            let mut batch = HashMap::new();
            for (event_id, payload) in events {
                if let Some(seq) = state.ids.get(&event_id).or(batch.get(&event_id)) {
                    positions.push(*seq);
                    continue;
                }
                next += 1;
                batch.insert(event_id.clone(), next);
                positions.push(next);
                fresh.push(Entry {
                    seq: next,
                    event_id,
                    payload,
                });
            }
        }
        let Some(newest) = fresh.last().map(|e| e.seq) else {
            return Ok(positions);
        };
        if let Some(journal) = &self.journal {
            let keep_from = (newest + 1).saturating_sub(self.capacity as u64);
            journal.append(&fresh, keep_from).await?;
        }
        let mut state = self.lock();
        for entry in fresh {
            if state.history.len() == self.capacity
                && let Some(old) = state.history.pop_front()
            {
                state.ids.remove(&old.event_id);
            }
            state.last_seq = entry.seq;
            state.ids.insert(entry.event_id.clone(), entry.seq);
            state.history.push_back(entry.clone());
            // Sent under the lock so live order equals history order.
            let _ = self.live.send(entry);
        }
        Ok(positions)
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(
        &self,
        _subject: &str,
        event_id: &str,
        _traceparent: &str,
        payload: Bytes,
    ) -> Result<u64, BusError> {
        let positions = self.store(vec![(event_id.to_owned(), payload)]).await?;
        positions
            .first()
            .copied()
            .ok_or_else(|| BusError::Unavailable("nothing stored".into()))
    }

    async fn publish_batch(&self, batch: Vec<Outgoing>) -> Result<(), (usize, BusError)> {
        let events = batch.into_iter().map(|e| (e.event_id, e.payload)).collect();
        self.store(events).await.map(|_| ()).map_err(|e| (0, e))
    }

    async fn subscribe(&self, start: Start) -> Result<EventStream, BusError> {
        let mut receiver = self.live.subscribe();
        let (mut next, backlog) = match start {
            Start::New => (self.lock().last_seq + 1, Vec::new()),
            Start::After(cursor) => (cursor + 1, self.replay(cursor)?),
        };
        let bus = self.clone();
        let stream = async_stream(move |tx| async move {
            for stored in backlog {
                next = stored.seq + 1;
                if tx
                    .send(Delivery::decode(stored.seq, &stored.payload))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            loop {
                let received = tokio::select! {
                    () = tx.closed() => return,
                    received = receiver.recv() => received,
                };
                let batch = match received {
                    Ok(entry) if entry.seq < next => continue,
                    Ok(entry) => vec![entry],
                    Err(RecvError::Lagged(_)) => match bus.replay(next - 1) {
                        Ok(batch) => batch,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    },
                    Err(RecvError::Closed) => return,
                };
                for stored in batch {
                    if stored.seq < next {
                        continue;
                    }
                    next = stored.seq + 1;
                    if tx
                        .send(Delivery::decode(stored.seq, &stored.payload))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        Ok(stream)
    }

    async fn signal(&self, signal: &Signal) -> Result<(), BusError> {
        // Nobody listening is not a failure: the signal is simply unheard.
        let _ = self.signals.send(signal.clone());
        Ok(())
    }

    async fn signals(&self) -> Result<SignalStream, BusError> {
        let mut receiver = self.signals.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(SIGNAL_BUFFER);
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    () = tx.closed() => return,
                    received = receiver.recv() => match received {
                        Ok(signal) => signal,
                        // A slow reader misses signals, as on NATS core.
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return,
                    },
                };
                if tx.send(signal).await.is_err() {
                    return;
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn board_put(&self, key: &str, entry: &Signal) -> Result<(), BusError> {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        board.insert(key.to_owned(), entry.clone());
        let _ = self.board_changes.send(BoardChange {
            key: key.to_owned(),
            value: Some(entry.clone()),
        });
        Ok(())
    }

    async fn board_delete(&self, key: &str) -> Result<(), BusError> {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        if board.remove(key).is_some() {
            let _ = self.board_changes.send(BoardChange {
                key: key.to_owned(),
                value: None,
            });
        }
        Ok(())
    }

    async fn board_watch(&self) -> Result<BoardStream, BusError> {
        let (mut receiver, now) = {
            let board = self.board.lock().unwrap_or_else(|p| p.into_inner());
            let now: Vec<BoardChange> = board
                .iter()
                .map(|(key, value)| BoardChange {
                    key: key.clone(),
                    value: Some(value.clone()),
                })
                .collect();
            (self.board_changes.subscribe(), now)
        };
        let (tx, rx) = tokio::sync::mpsc::channel(SIGNAL_BUFFER);
        tokio::spawn(async move {
            for change in now {
                if tx.send(change).await.is_err() {
                    return;
                }
            }
            loop {
                let change = tokio::select! {
                    () = tx.closed() => return,
                    received = receiver.recv() => match received {
                        Ok(change) => change,
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return,
                    },
                };
                if tx.send(change).await.is_err() {
                    return;
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    async fn last_seq(&self) -> Result<u64, BusError> {
        Ok(self.lock().last_seq)
    }

    async fn ready(&self) -> bool {
        true
    }
}

/// Runs `producer` as a task feeding a bounded channel, as a stream.
pub(crate) fn async_stream<F, Fut>(producer: F) -> EventStream
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Delivery, BusError>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(producer(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
