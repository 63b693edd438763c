//! A crash opens no gap: Talk is killed with SIGKILL while senders post with
//! an `Idempotency-Key` into three group talks and WebSocket listeners
//! follow them; it is started again on the same data, the senders retry with
//! their keys, the listeners reconnect with their last cursor. Afterwards
//! every listener has received every stored message of its talks exactly
//! once, in per-talk order, and every message is stored once.
//!
//! Run on the embedded default (SQLite + the in-process bus) and on
//! PostgreSQL + NATS as one process, and with message-service and the
//! push-gateway as processes of their own, killed in turn. `CRASH_ROUNDS=N`
//! kills N times instead of 8.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::procs::{AllInOne, Processes, Stores};
use talk_e2e::ws::Incoming;
use talk_e2e::{Api, Socket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

const SENDERS: usize = 8;
const LISTENERS: usize = 3;
const TALKS: usize = 3;
/// How long a sender keeps retrying one post, and a listener catching up.
const PATIENCE: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What one listener heard: per talk, the seq of every `message_created`, in
/// arrival order; and how often its cursor was refused.
#[derive(Default)]
struct Heard {
    seqs: HashMap<String, Vec<u64>>,
    resyncs: u32,
    /// Connections whose subscription was acknowledged.
    connections: u32,
}

struct Agent {
    id: String,
    api: Api,
}

struct World {
    senders: Vec<Agent>,
    listeners: Vec<Agent>,
    talks: Vec<String>,
}

async fn world(base: &str) -> anyhow::Result<World> {
    let admin = Api::login(base, "admin", ADMIN_PASSWORD).await?;
    let mut senders = Vec::new();
    let mut listeners = Vec::new();
    for i in 0..SENDERS {
        let (id, api) = admin
            .create_agent(&format!("sender{i}"), &format!("Sender {i}"))
            .await?;
        senders.push(Agent { id, api });
    }
    for i in 0..LISTENERS {
        let (id, api) = admin
            .create_agent(&format!("listener{i}"), &format!("Listener {i}"))
            .await?;
        listeners.push(Agent { id, api });
    }
    let others: Vec<&str> = senders[1..]
        .iter()
        .chain(&listeners)
        .map(|a| a.id.as_str())
        .collect();
    let mut talks = Vec::new();
    for i in 0..TALKS {
        let talk = senders[0]
            .api
            .post(
                "/v1.0/talks",
                json!({"type": "group", "name": format!("crash {i}"), "participant_ids": others}),
                201,
            )
            .await?;
        talks.push(talk["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(World {
        senders,
        listeners,
        talks,
    })
}

fn cursor_of(frame: &Value) -> Option<String> {
    match &frame["cursor"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Follows every talk of `agent` until `stop`, reconnecting with its last
/// cursor whenever the connection ends, as a client of the protocol does.
async fn listen(
    by_frame: bool,
    ws: String,
    agent: String,
    token: String,
    heard: Arc<Mutex<Heard>>,
    stop: CancellationToken,
) {
    let mut cursor: Option<String> = None;
    while !stop.is_cancelled() {
        let query = match (&cursor, by_frame) {
            (Some(c), false) => format!("cursor={c}"),
            _ => String::new(),
        };
        let Ok(mut socket) = Socket::connect(&ws, &token, &query).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let subscribe =
            json!({"type": "subscribe", "topics": [format!("agent_id:{agent}:chat")], "id": "sub"});
        if socket.send(subscribe).await.is_err() {
            continue;
        }
        if by_frame
            && let Some(c) = &cursor
            && socket
                .send(json!({"type": "resume", "cursor": c}))
                .await
                .is_err()
        {
            continue;
        }
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = socket.next_or_close(Duration::from_secs(1)) => next,
            };
            let frame = match next {
                Ok(Some(Incoming::Frame(frame))) => frame,
                Ok(None) => continue,
                Ok(Some(Incoming::Closed(_))) | Err(_) => break,
            };
            if let Some(c) = cursor_of(&frame) {
                cursor = Some(c);
            }
            let mut heard = heard.lock().unwrap_or_else(|p| p.into_inner());
            match frame["type"].as_str() {
                Some("message_created") => {
                    let talk = frame["data"]["chat_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let seq = frame["data"]["seq"].as_u64().unwrap_or_default();
                    heard.seqs.entry(talk).or_default().push(seq);
                }
                Some("resync_required") => heard.resyncs += 1,
                Some("ack") => heard.connections += 1,
                _ => {}
            }
        }
    }
}

/// One post, retried with its key until it is answered (the process may be
/// down or restarting); returns the message.
async fn post_until_answered(api: &Api, talk: &str, text: &str) -> anyhow::Result<(Value, u32)> {
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/v1.0/talks/{talk}/messages");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let headers = [("Idempotency-Key", key.as_str())];
        let sent = api.send(Method::POST, &path, Some(json!({"text": text})), &headers);
        match tokio::time::timeout(REQUEST_TIMEOUT, sent).await {
            Ok(Ok(reply)) if reply.status.as_u16() == 201 => return Ok((reply.body, attempts)),
            Ok(Ok(reply)) if reply.status.is_server_error() => {}
            Ok(Ok(reply)) => anyhow::bail!("post answered {}: {}", reply.status, reply.body),
            Ok(Err(_)) | Err(_) => {}
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("post {text:?} not answered within {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A sender: posts round the talks until `stop`; returns (talk, message) of
/// every acknowledged post and how many needed a retry.
async fn send(
    api: Api,
    name: String,
    talks: Vec<String>,
    stop: CancellationToken,
) -> anyhow::Result<(Vec<(String, Value)>, usize)> {
    let mut acked = Vec::new();
    let mut retried = 0;
    let mut n = 0;
    while !stop.is_cancelled() {
        let talk = &talks[n % talks.len()];
        n += 1;
        let (message, attempts) = post_until_answered(&api, talk, &format!("{name} #{n}")).await?;
        retried += usize::from(attempts > 1);
        acked.push((talk.clone(), message));
    }
    Ok((acked, retried))
}

/// Every message of `talk` as stored, in seq order (REST catch-up from 0).
async fn stored(api: &Api, talk: &str) -> anyhow::Result<Vec<Value>> {
    let mut all: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let page = api
            .get(&format!("/v1.0/talks/{talk}/messages?after_seq={after}"))
            .await?;
        let result = page["result"].as_array().cloned().unwrap_or_default();
        if result.is_empty() {
            break;
        }
        after = result
            .iter()
            .filter_map(|m| m["change_seq"].as_u64())
            .max()
            .unwrap_or(after);
        all.extend(result);
    }
    all.sort_by_key(|m| m["seq"].as_u64());
    Ok(all)
}

/// Where the test crashes Talk.
enum Target {
    All(AllInOne),
    Split(Processes),
}

impl Target {
    fn rest(&self) -> String {
        match self {
            Self::All(all) => all.url(),
            Self::Split(p) => p.url("edge"),
        }
    }

    fn ws(&self) -> String {
        match self {
            Self::All(all) => all.ws_url(),
            Self::Split(p) => p.ws_url(),
        }
    }

    /// SIGKILL and restart, round `round` of the schedule.
    async fn crash(&mut self, round: usize) -> anyhow::Result<()> {
        match self {
            Self::All(all) => {
                all.kill()?;
                all.restart().await
            }
            Self::Split(p) => {
                let service = ["message-service", "push-gateway"][round % 2];
                p.kill_one(service)?;
                p.start_one(service).await
            }
        }
    }
}

/// The scenario: load, `rounds` crashes under it, then the checks.
async fn crash_under_load(mut target: Target, rounds: usize) -> anyhow::Result<()> {
    let rounds = std::env::var("CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(rounds);
    let world = world(&target.rest()).await?;
    let stop_listening = CancellationToken::new();
    let mut listeners = Vec::new();
    let mut listening = JoinSet::new();
    for (i, agent) in world.listeners.iter().enumerate() {
        let heard = Arc::new(Mutex::new(Heard::default()));
        listeners.push(heard.clone());
        let token = agent.api.token.clone().unwrap_or_default();
        listening.spawn(listen(
            i % 2 == 1,
            target.ws(),
            agent.id.clone(),
            token,
            heard,
            stop_listening.clone(),
        ));
    }
    // The listeners follow from a first message of each talk on.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while listeners
        .iter()
        .any(|h| h.lock().unwrap_or_else(|p| p.into_inner()).connections == 0)
    {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "listeners not subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut first = HashMap::new();
    for talk in &world.talks {
        let (message, _) =
            post_until_answered(&world.senders[0].api, talk, &format!("first in {talk}")).await?;
        first.insert(talk.clone(), message["seq"].as_u64().unwrap_or_default());
    }
    wait_for(&listeners, &first, &world.talks, "the first messages").await?;

    let stop_sending = CancellationToken::new();
    let mut sending = JoinSet::new();
    for (i, agent) in world.senders.iter().enumerate() {
        sending.spawn(send(
            agent.api.clone(),
            format!("sender {i}"),
            world.talks.clone(),
            stop_sending.clone(),
        ));
    }
    for round in 0..rounds {
        let pause = 300 + rand::random::<u64>() % 600;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        target.crash(round).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_sending.cancel();
    let mut acked = Vec::new();
    let mut retried = 0;
    while let Some(done) = sending.join_next().await {
        let (mine, r) = done??;
        acked.extend(mine);
        retried += r;
    }

    // Every acknowledged post is stored once, with the id its answer named.
    let reader = &world.senders[0].api;
    let mut messages = BTreeMap::new();
    for talk in &world.talks {
        messages.insert(talk.clone(), stored(reader, talk).await?);
    }
    let mut texts = HashMap::new();
    for message in messages.values().flatten() {
        if message["type"] == "normal" {
            let text = message["text"].as_str().unwrap_or_default().to_owned();
            *texts.entry(text).or_insert(0) += 1;
        }
    }
    assert!(texts.values().all(|n| *n == 1), "a post was stored twice");
    for (talk, message) in &acked {
        let found = messages[talk].iter().any(|m| m["id"] == message["id"]);
        assert!(found, "acknowledged {} is not stored", message["id"]);
    }
    let last: HashMap<String, u64> = messages
        .iter()
        .map(|(t, m)| {
            (
                t.clone(),
                m.last().and_then(|m| m["seq"].as_u64()).unwrap_or_default(),
            )
        })
        .collect();
    for (talk, stored) in &messages {
        let seqs: Vec<u64> = stored.iter().filter_map(|m| m["seq"].as_u64()).collect();
        assert_eq!(
            seqs,
            (1..=last[talk]).collect::<Vec<_>>(),
            "seq of {talk} is gapless"
        );
    }

    // Every listener received every stored message of its talks, from the
    // first one on, exactly once and in order.
    let caught_up = wait_for(&listeners, &last, &world.talks, "everything stored").await;
    stop_listening.cancel();
    while listening.join_next().await.is_some() {}
    let posts = acked.len();
    let mut report = Vec::new();
    for (i, heard) in listeners.iter().enumerate() {
        let heard = heard.lock().unwrap_or_else(|p| p.into_inner());
        for talk in &world.talks {
            let got: Vec<u64> = heard
                .seqs
                .get(talk)
                .into_iter()
                .flatten()
                .copied()
                .filter(|s| *s >= first[talk])
                .collect();
            let want: Vec<u64> = (first[talk]..=last[talk]).collect();
            if got != want {
                let missing: Vec<u64> = want.iter().filter(|s| !got.contains(s)).copied().collect();
                let twice = got.len() + missing.len() - want.len();
                report.push(format!(
                    "listener {i}, talk {talk}: missing {missing:?}, {twice} duplicate(s), in order: {}",
                    got.windows(2).all(|w| w[0] < w[1])
                ));
            }
        }
        eprintln!(
            "listener {i}: {} connections, {} resync_required",
            heard.connections, heard.resyncs
        );
    }
    eprintln!("{rounds} crashes, {posts} posts acknowledged, {retried} answered after a retry");
    assert!(report.is_empty(), "{}", report.join("\n"));
    caught_up
}

/// Waits until every listener heard, for each talk, the message of seq
/// `until[talk]`.
async fn wait_for(
    listeners: &[Arc<Mutex<Heard>>],
    until: &HashMap<String, u64>,
    talks: &[String],
    what: &str,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let done = listeners.iter().all(|heard| {
            let heard = heard.lock().unwrap_or_else(|p| p.into_inner());
            talks
                .iter()
                .all(|t| heard.seqs.get(t).is_some_and(|s| s.contains(&until[t])))
        });
        if done {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("the listeners did not hear {what} within {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_of_the_embedded_default_loses_no_event() -> anyhow::Result<()> {
    let all = AllInOne::start(Stores::Embedded).await?;
    crash_under_load(Target::All(all), 8).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_on_postgres_and_nats_loses_no_event() -> anyhow::Result<()> {
    let all = AllInOne::start(Stores::PostgresNats).await?;
    crash_under_load(Target::All(all), 8).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_of_message_service_or_the_gateway_loses_no_event() -> anyhow::Result<()> {
    let processes = Processes::start().await?;
    crash_under_load(Target::Split(processes), 8).await
}
