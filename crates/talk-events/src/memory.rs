//! The in-process bus of the embedded default: a bounded history plus a
//! broadcast of live events, with the same contract as JetStream.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::{Bus, BusError, Delivery, EventStream, Start};

#[derive(Clone)]
struct Stored {
    seq: u64,
    event_id: String,
    payload: Bytes,
}

struct State {
    history: VecDeque<Stored>,
    last_seq: u64,
}

/// An in-process bus that keeps the newest `capacity` events for resume.
#[derive(Clone)]
pub struct MemoryBus {
    state: Arc<Mutex<State>>,
    live: broadcast::Sender<Stored>,
    capacity: usize,
}

impl MemoryBus {
    /// A bus retaining at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (live, _) = broadcast::channel(capacity.min(65_536));
        Self {
            state: Arc::new(Mutex::new(State {
                history: VecDeque::with_capacity(capacity.min(65_536)),
                last_seq: 0,
            })),
            live,
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Events after `after`, or `CursorExpired` when some were already evicted.
    fn replay(&self, after: u64) -> Result<Vec<Stored>, BusError> {
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
        let stored = {
            let mut state = self.lock();
            // A re-published event (the relay retrying after a crash) keeps its position.
            if let Some(existing) = state
                .history
                .iter()
                .rev()
                .take(1024)
                .find(|s| s.event_id == event_id)
            {
                return Ok(existing.seq);
            }
            state.last_seq += 1;
            let stored = Stored {
                seq: state.last_seq,
                event_id: event_id.to_owned(),
                payload,
            };
            if state.history.len() == self.capacity {
                state.history.pop_front();
            }
            state.history.push_back(stored.clone());
            // Sent under the lock so live order equals history order.
            let _ = self.live.send(stored.clone());
            stored
        };
        Ok(stored.seq)
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
                    Ok(stored) if stored.seq < next => continue,
                    Ok(stored) => vec![stored],
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
