//! Webhooks through the whole system: changes made over REST, their events
//! carried by PostgreSQL outboxes and NATS JetStream to webhook-service, and
//! posted to real HTTP receivers started by the tests, whose every request
//! is checked with an independent Standard Webhooks verifier (below: the
//! `standardwebhooks` crate is not on crates.io, so it is written here from
//! the specification, and checked against the specification's example).
//!
//! - every event of a scripted talk arrives once, signed, in VoIPBIN's and
//!   the seed's naming ([`delivery`]);
//! - a receiver answering 500 gets retries with the same `webhook-id`; one
//!   down for the whole script gets everything once it is back, and again
//!   after a replay; a hung receiver does not delay another endpoint; one
//!   failing for too long is disabled until enabled again ([`failures`]);
//! - bad input is 400 naming the problem, and nothing is stored ([`validation`]).
//! - a bot's endpoint hears the talks its bot is in while it is in them; an
//!   ordered endpoint gets one delivery at a time, in bus order ([`bots`]).
//! - webhook-service killed with SIGKILL under load queues every event once
//!   and delivers it ([`crash`]; the real `talk` binary: `cargo build -p talk`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use talk_e2e::{Api, Topology};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

mod bots;
mod crash;
mod delivery;
mod failures;
mod validation;

const WAIT: Duration = Duration::from_secs(30);
const SERVICES: Topology = Topology::Services { nats_url: None };

/// How a receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 204.
    Ok,
    /// 500.
    Fail,
    /// Never (until the receiver stops).
    Hang,
}

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body as sent.
    pub raw: String,
    /// The body as JSON.
    pub body: Value,
}

struct Shared {
    hits: Mutex<Vec<Hit>>,
    answer: Mutex<Answer>,
    count: watch::Sender<usize>,
    stop: CancellationToken,
}

/// An HTTP server on loopback that records what it is posted.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn record(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    let hit = Hit {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
    };
    let answer = *shared.answer.lock().unwrap_or_else(|e| e.into_inner());
    shared
        .hits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(hit);
    shared.count.send_modify(|n| *n += 1);
    match answer {
        Answer::Ok => StatusCode::NO_CONTENT,
        Answer::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Answer::Hang => {
            shared.stop.cancelled().await;
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub async fn start(answer: Answer) -> anyhow::Result<Self> {
        let mut receiver = Self::not_yet(answer);
        receiver.listen().await?;
        Ok(receiver)
    }

    /// A receiver with an address but nothing listening there yet.
    pub fn not_yet(answer: Answer) -> Self {
        let addr = talk_testkit::free_addr();
        Self {
            url: format!("http://{addr}/hook"),
            addr,
            shared: Arc::new(Shared {
                hits: Mutex::default(),
                answer: Mutex::new(answer),
                count: watch::Sender::new(0),
                stop: CancellationToken::new(),
            }),
            task: None,
        }
    }

    /// Starts listening.
    pub async fn listen(&mut self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let app = axum::Router::new()
            .fallback(axum::routing::post(record))
            .with_state(self.shared.clone());
        let stop = self.shared.stop.clone();
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        }));
        Ok(())
    }

    /// Changes how it answers from now on.
    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap_or_else(|e| e.into_inner()) = answer;
    }

    /// Everything it got so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.shared
            .hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until `done` holds for what it got.
    pub async fn until(
        &self,
        what: &str,
        done: impl Fn(&[Hit]) -> bool,
    ) -> anyhow::Result<Vec<Hit>> {
        let mut count = self.shared.count.subscribe();
        let waited = tokio::time::timeout(WAIT, async {
            loop {
                let hits = self.hits();
                if done(&hits) {
                    return hits;
                }
                if count.changed().await.is_err() {
                    return hits;
                }
            }
        })
        .await;
        match waited {
            Ok(hits) if done(&hits) => Ok(hits),
            _ => bail!("{what}: not within {WAIT:?}; got {:#?}", self.hits()),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Checks a request as a Standard Webhooks receiver does: some `v1`
/// signature of `webhook-signature` is the base64 HMAC-SHA256, keyed with
/// the base64-decoded part of the `whsec_` secret after its prefix, of
/// `<webhook-id>.<webhook-timestamp>.<body>`, and the timestamp is within
/// five minutes of now.
pub fn verify(secret: &str, hit: &Hit) -> anyhow::Result<()> {
    verify_at(secret, hit, now_secs())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn verify_at(secret: &str, hit: &Hit, now: i64) -> anyhow::Result<()> {
    let key = STANDARD
        .decode(
            secret
                .strip_prefix("whsec_")
                .context("a secret starts whsec_")?,
        )
        .context("the secret is base64")?;
    let timestamp: i64 = hit.timestamp.parse().context("webhook-timestamp")?;
    if (now - timestamp).abs() > 300 {
        bail!("webhook-timestamp {timestamp} is more than 5 minutes from {now}");
    }
    if hit.id.is_empty() {
        bail!("no webhook-id");
    }
    for signature in hit.signature.split(' ') {
        let Some(("v1", encoded)) = signature.split_once(',') else {
            continue;
        };
        let Ok(given) = STANDARD.decode(encoded) else {
            continue;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
        mac.update(format!("{}.{}.{}", hit.id, hit.timestamp, hit.raw).as_bytes());
        if mac.verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    bail!("no signature of {:?} verifies", hit.signature)
}

#[test]
fn the_verifier_accepts_the_specification_example_and_nothing_else() {
    let hit = Hit {
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
        timestamp: "1614265330".into(),
        signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into(),
        raw: r#"{"test": 2432232314}"#.into(),
        body: Value::Null,
    };
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(verify_at(secret, &hit, 1614265330).is_ok());
    assert!(verify_at(secret, &hit, 1614265330 + 301).is_err());
    let tampered = Hit {
        raw: r#"{"test": 2432232315}"#.into(),
        ..hit.clone()
    };
    assert!(verify_at(secret, &tampered, 1614265330).is_err());
    let two = Hit {
        signature: format!("v1,bm9wZQ== {}", hit.signature),
        ..hit
    };
    assert!(verify_at(secret, &two, 1614265330).is_ok());
}

/// Creates a webhook; answers its id and secret.
pub async fn create(api: &Api, body: Value) -> anyhow::Result<(String, String)> {
    let webhook = api.post("/v1.0/webhooks", body, 200).await?;
    let id = webhook["id"].as_str().context("webhook id")?.to_owned();
    let secret = webhook["secret"]
        .as_str()
        .context("the create shows the secret")?
        .to_owned();
    Ok((id, secret))
}

/// The whole delivery log of a webhook.
pub async fn log(api: &Api, webhook: &str) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = api
            .get(&format!(
                "/v1.0/webhooks/{webhook}/deliveries?page_size=50&page_token={token}"
            ))
            .await?;
        all.extend(page["result"].as_array().cloned().unwrap_or_default());
        token = page["next_page_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if token.is_empty() {
            return Ok(all);
        }
    }
}

/// Waits until the log of `webhook` satisfies `done`.
pub async fn log_until(
    api: &Api,
    webhook: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let entries = log(api, webhook).await?;
        if done(&entries) {
            return Ok(entries);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{what}: not within {WAIT:?}; the log: {entries:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

/// A message posted in `talk`.
async fn post(api: &Api, talk: &str, text: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/talks/{talk}/messages"),
        json!({ "text": text }),
        201,
    )
    .await
}
