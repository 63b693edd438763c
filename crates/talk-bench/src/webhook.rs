//! Scenario W's receiver: a local HTTP endpoint registered as a webhook of
//! the scenario's talk, answering 204 at once and noting, for each
//! `message_created`, its marker and the lag from the event's time (its
//! `timestamp`: when message-service wrote it, just before the commit) to
//! the receipt, on the machine's wall clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::stats::Percentiles;

/// What the receiver measured.
#[derive(Clone, Debug, Default)]
pub struct WebhookOutcome {
    /// Requests received (retries included).
    pub requests: u64,
    /// Distinct messages of the scenario received.
    pub delivered: u64,
    /// Messages accepted by the API that never arrived within the drain time.
    pub lost: u64,
    /// Extra copies of a message.
    pub duplicated: u64,
    /// Deliveries per second: distinct messages ÷ first to last receipt.
    pub rate: f64,
    /// Event time → receipt, ms.
    pub lag: Percentiles,
}

#[derive(Default)]
struct Log {
    /// Marker index → (copies, lag of the first in µs).
    seen: HashMap<u32, (u32, u64)>,
    requests: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

struct Shared {
    tag: char,
    log: Mutex<Log>,
}

/// A receiver listening on loopback.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// The marker index of a bench message text, `#<tag><index>#…`.
fn marker(text: &str, tag: char) -> Option<u32> {
    let rest = text.strip_prefix('#')?.strip_prefix(tag)?;
    rest.split('#').next()?.parse().ok()
}

async fn receive(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let at = now_micros();
    let received = Instant::now();
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let index = event["data"]["text"]
        .as_str()
        .and_then(|t| marker(t, shared.tag));
    let occurred = event["timestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_micros() as u64);
    let mut log = shared.log.lock().unwrap_or_else(|e| e.into_inner());
    log.requests += 1;
    if let (Some(index), Some(occurred)) = (index, occurred) {
        log.first.get_or_insert(received);
        log.last = Some(received);
        let entry = log
            .seen
            .entry(index)
            .or_insert((0, at.saturating_sub(occurred)));
        entry.0 += 1;
    }
    StatusCode::NO_CONTENT
}

impl Receiver {
    /// Starts a receiver of messages marked `tag`.
    pub async fn start(tag: char) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let shared = Arc::new(Shared {
            tag,
            log: Mutex::default(),
        });
        let stop = CancellationToken::new();
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(shared.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(until.cancelled_owned())
                .await;
        });
        Ok(Self { url, shared, stop })
    }

    fn distinct(&self) -> u64 {
        let log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        log.seen.len() as u64
    }

    /// Waits up to `drain` for `accepted` distinct messages, then stops and
    /// answers what arrived.
    pub async fn finish(self, accepted: u64, drain: Duration) -> WebhookOutcome {
        let deadline = Instant::now() + drain;
        while self.distinct() < accepted && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A moment more, so that a duplicate right behind is seen.
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.stop.cancel();
        let log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        let mut lags: Vec<u64> = log.seen.values().map(|(_, lag)| *lag).collect();
        let delivered = log.seen.len() as u64;
        let secs = match (log.first, log.last) {
            (Some(first), Some(last)) => (last - first).as_secs_f64(),
            _ => 0.0,
        };
        WebhookOutcome {
            requests: log.requests,
            delivered,
            lost: accepted.saturating_sub(delivered),
            duplicated: log.seen.values().map(|(n, _)| u64::from(n - 1)).sum(),
            rate: if secs > 0.0 {
                delivered as f64 / secs
            } else {
                0.0
            },
            lag: Percentiles::of_micros(&mut lags),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_of_the_scenario_only() {
        assert_eq!(marker("#W17#xxxx", 'W'), Some(17));
        assert_eq!(marker("#E17#xxxx", 'W'), None);
        assert_eq!(marker("hello", 'W'), None);
    }
}
