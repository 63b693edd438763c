//! Rounds: requests with one key that arrive while a round of that key is
//! being served wait, and are then served together in the next round, in
//! arrival order, by a task of its own (a caller that goes away does not take
//! the others' round with it). Every request is served by a round that starts
//! after it arrived, so what a round reads is at least as new as each of its
//! requests. Posts to one talk (checked and written together, `batch.rs`)
//! and the access checks of other writes (`access.rs`) are served this way.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// Waiting requests of type `T` answered with `R`, by key `K`; a key has an
/// entry while its round task runs.
pub(super) struct Rounds<K, T, R> {
    waiting: Mutex<HashMap<K, VecDeque<Waiting<T, R>>>>,
    max: usize,
}

type Waiting<T, R> = (T, oneshot::Sender<R>);

impl<K, T, R> Rounds<K, T, R>
where
    K: Eq + Hash + Copy + Send + Sync + 'static,
    T: Send + 'static,
    R: Send + 'static,
{
    /// Rounds of at most `max` requests.
    pub(super) fn new(max: usize) -> Self {
        Self {
            waiting: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    /// Serves `request` in the next round of `key`. When this request starts
    /// the rounds, `make_serve()` makes what answers a round's requests in order
    /// (so nothing is built for a request that joins a round under way).
    /// None when the round gave no answer (it failed or panicked).
    pub(super) async fn join<S, F, Fut>(
        self: &Arc<Self>,
        key: K,
        request: T,
        make_serve: S,
    ) -> Option<R>
    where
        S: FnOnce() -> F,
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let first = match self.lock().entry(key) {
            Entry::Occupied(mut waiting) => {
                waiting.get_mut().push_back((request, answer));
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(VecDeque::new());
                Some((request, answer))
            }
        };
        if let Some(first) = first {
            let server = Server {
                rounds: self.clone(),
                key,
            };
            tokio::spawn(server.run(make_serve(), vec![first]));
        }
        answered.await.ok()
    }
}

impl<K: Eq + Hash, T, R> Rounds<K, T, R> {
    fn lock(&self) -> MutexGuard<'_, HashMap<K, VecDeque<Waiting<T, R>>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves one key's rounds until nobody waits.
struct Server<K: Eq + Hash, T, R> {
    rounds: Arc<Rounds<K, T, R>>,
    key: K,
}

impl<K, T, R> Server<K, T, R>
where
    K: Eq + Hash + Copy + Send + Sync + 'static,
    T: Send + 'static,
    R: Send + 'static,
{
    async fn run<F, Fut>(self, mut serve: F, mut round: Vec<Waiting<T, R>>)
    where
        F: FnMut(Vec<T>) -> Fut,
        Fut: Future<Output = Vec<R>>,
    {
        // Requests that became ready together (the answers of one earlier
        // round, say) are about to arrive: let them in before the first round.
        tokio::task::yield_now().await;
        {
            let mut waiting = self.rounds.lock();
            if let Some(queue) = waiting.get_mut(&self.key) {
                let n = queue.len().min(self.rounds.max.saturating_sub(round.len()));
                round.extend(queue.drain(..n));
            }
        }
        loop {
            let (requests, answers): (Vec<T>, Vec<_>) = round.into_iter().unzip();
            for (answer, result) in answers.into_iter().zip(serve(requests).await) {
                // The caller may have gone; what its request did stands.
                let _ = answer.send(result);
            }
            let mut waiting = self.rounds.lock();
            let Some(queue) = waiting.get_mut(&self.key).filter(|q| !q.is_empty()) else {
                waiting.remove(&self.key);
                return;
            };
            let n = queue.len().min(self.rounds.max);
            round = queue.drain(..n).collect();
        }
    }
}

impl<K: Eq + Hash, T, R> Drop for Server<K, T, R> {
    /// A server that panicked leaves no entry behind: the requests still
    /// waiting get no answer, later ones start afresh.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.rounds.lock().remove(&self.key);
        }
    }
}
