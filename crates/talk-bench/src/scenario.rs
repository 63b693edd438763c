//! One message scenario: listeners on, POSTs (closed or open loop), drain,
//! then match every expected delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::api::{Agent, Api};
use crate::listener::{self, Shared};
use crate::procs::{Procs, delta};
use crate::stats::{Outcome, Percentiles};

/// What every scenario needs.
#[derive(Clone)]
pub struct Env {
    /// The REST client.
    pub api: Api,
    /// `host:port` of the push-gateway.
    pub push: String,
    /// The bench's clock origin.
    pub epoch: Instant,
    /// The processes under test.
    pub procs: Procs,
    /// WebSocket handshakes in flight while opening listeners.
    pub connect_parallel: usize,
}

impl Env {
    /// Microseconds since the epoch.
    pub fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }
}

/// One talk of a scenario.
#[derive(Clone, Debug)]
pub struct TalkPlan {
    /// The talk's id.
    pub id: String,
    /// Who posts (round robin).
    pub senders: Vec<Agent>,
    /// Who listens over WebSocket.
    pub listeners: Vec<Agent>,
}

/// How messages are offered.
#[derive(Clone, Copy, Debug)]
pub enum Load {
    /// As fast as accepted, with this many POSTs in flight.
    Closed(usize),
    /// A fixed rate (messages per second), whatever the answers.
    Open(f64),
}

/// A message scenario.
pub struct Plan {
    /// Name for the table.
    pub name: String,
    /// What was run, in words.
    pub setup: String,
    /// Marker tag (unique per scenario).
    pub tag: char,
    /// The talks; message `i` goes to talk `i % talks.len()`.
    pub talks: Vec<TalkPlan>,
    /// Messages to post.
    pub messages: usize,
    /// Bytes of text per message.
    pub size: usize,
    /// Closed or open loop.
    pub load: Load,
    /// How long to wait for missing deliveries after the last POST answer.
    pub drain: Duration,
}

struct Sent {
    starts: Vec<AtomicU64>,
    accepted: Vec<AtomicBool>,
    failed: AtomicU64,
    last_answer: AtomicU64,
}

async fn post_one(
    env: &Env,
    plan_talks: &[TalkPlan],
    sent: &Sent,
    tag: char,
    size: usize,
    i: usize,
) -> u64 {
    let talk = &plan_talks[i % plan_talks.len()];
    let sender = &talk.senders[(i / plan_talks.len()) % talk.senders.len()];
    let text = listener::text(tag, i as u32, size);
    let start = env.now_us();
    sent.starts[i].store(start, Ordering::Relaxed);
    let ok = matches!(
        env.api.post_message(&sender.token, &talk.id, &text).await,
        Ok(true)
    );
    let end = env.now_us();
    sent.last_answer.fetch_max(end, Ordering::Relaxed);
    if ok {
        sent.accepted[i].store(true, Ordering::Relaxed);
    } else {
        sent.failed.fetch_add(1, Ordering::Relaxed);
    }
    end - start
}

/// Runs `plan` and measures it.
pub async fn run(env: &Env, plan: Plan) -> anyhow::Result<Outcome> {
    let n = plan.messages;
    let shared = Shared {
        epoch: env.epoch,
        tag: plan.tag,
        received: Arc::new(AtomicU64::new(0)),
        stop: CancellationToken::new(),
    };
    let mut listeners = Vec::new();
    for (k, talk) in plan.talks.iter().enumerate() {
        for l in
            listener::open_all(&env.push, &talk.listeners, &shared, env.connect_parallel).await?
        {
            listeners.push((k, l));
        }
    }
    // A connection's first subscribe holds live events for a moment in case
    // a resume follows it (push-gateway, `RESUME_GRACE`): start once it ended.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let sent = Arc::new(Sent {
        starts: (0..n).map(|_| AtomicU64::new(0)).collect(),
        accepted: (0..n).map(|_| AtomicBool::new(false)).collect(),
        failed: AtomicU64::new(0),
        last_answer: AtomicU64::new(0),
    });
    let talks = Arc::new(plan.talks.clone());
    let cpu_before = env.procs.cpu();
    let wall = Instant::now();
    let first_start = env.now_us();
    let mut post_lat: Vec<u64> = Vec::with_capacity(n);
    let mut schedule_lag_us = 0u64;
    match plan.load {
        Load::Closed(concurrency) => {
            let next = Arc::new(AtomicUsize::new(0));
            let mut workers = Vec::new();
            for _ in 0..concurrency.max(1) {
                let (env, talks, sent, next) =
                    (env.clone(), talks.clone(), sent.clone(), next.clone());
                let (tag, size) = (plan.tag, plan.size);
                workers.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return lat;
                        }
                        lat.push(post_one(&env, &talks, &sent, tag, size, i).await);
                    }
                }));
            }
            for w in workers {
                post_lat.extend(w.await?);
            }
        }
        Load::Open(rate) => {
            let period = Duration::from_secs_f64(1.0 / rate);
            let t0 = tokio::time::Instant::now();
            let mut tasks = Vec::with_capacity(n);
            for i in 0..n {
                let due = t0 + period * i as u32;
                tokio::time::sleep_until(due).await;
                schedule_lag_us =
                    schedule_lag_us.max((tokio::time::Instant::now() - due).as_micros() as u64);
                let (env, talks, sent) = (env.clone(), talks.clone(), sent.clone());
                let (tag, size) = (plan.tag, plan.size);
                tasks.push(tokio::spawn(async move {
                    post_one(&env, &talks, &sent, tag, size, i).await
                }));
            }
            for t in tasks {
                post_lat.push(t.await?);
            }
        }
    }
    let last_answer = sent.last_answer.load(Ordering::Relaxed);
    let expected: u64 = (0..n)
        .filter(|&i| sent.accepted[i].load(Ordering::Relaxed))
        .map(|i| talks[i % talks.len()].listeners.len() as u64)
        .sum();
    let deadline = Instant::now() + plan.drain;
    while shared.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall_secs = wall.elapsed().as_secs_f64();
    let cpu = delta(&cpu_before, &env.procs.cpu());
    // A short grace period so that a duplicate right behind the last delivery is seen.
    tokio::time::sleep(Duration::from_millis(300)).await;
    shared.stop.cancel();

    let mut out = Outcome {
        name: plan.name,
        setup: plan.setup,
        sent: n as u64,
        failed: sent.failed.load(Ordering::Relaxed),
        send_secs: (last_answer.saturating_sub(first_start)) as f64 / 1e6,
        post: Percentiles::of_micros(&mut post_lat),
        expected,
        cpu,
        wall_secs,
        ..Outcome::default()
    };
    out.accepted = out.sent - out.failed;
    let mut latencies = Vec::with_capacity(expected as usize);
    let mut last_delivery = 0u64;
    let t = talks.len();
    for (k, l) in listeners {
        let log = l.finish().await;
        out.unexpected += log.foreign;
        out.dropped_sockets += u64::from(log.dropped);
        let mut counts = vec![0u8; n];
        for (index, at) in log.deliveries {
            let i = index as usize;
            if i >= n || i % t != k || !sent.accepted[i].load(Ordering::Relaxed) {
                out.unexpected += 1;
                continue;
            }
            counts[i] = counts[i].saturating_add(1);
            if counts[i] > 1 {
                out.duplicated += 1;
                continue;
            }
            out.delivered += 1;
            last_delivery = last_delivery.max(at);
            latencies.push(at.saturating_sub(sent.starts[i].load(Ordering::Relaxed)));
        }
        out.lost += (k..n)
            .step_by(t)
            .filter(|&i| sent.accepted[i].load(Ordering::Relaxed) && counts[i] == 0)
            .count() as u64;
    }
    out.deliver_secs = last_delivery.saturating_sub(first_start) as f64 / 1e6;
    out.latency = Percentiles::of_micros(&mut latencies);
    if schedule_lag_us > 0 {
        out.setup.push_str(&format!(
            " (max send-schedule lag {:.1} ms)",
            schedule_lag_us as f64 / 1000.0
        ));
    }
    Ok(out)
}
