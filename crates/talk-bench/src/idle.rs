//! Scenario D: many idle, subscribed WebSocket connections and the
//! push-gateway memory they cost.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::api::Agent;
use crate::listener::{self, Shared};
use crate::procs::delta;
use crate::scenario::Env;

/// What scenario D measured.
#[derive(Clone, Debug, Default)]
pub struct IdleOutcome {
    /// Connections asked for.
    pub wanted: usize,
    /// Connections open and subscribed.
    pub opened: usize,
    /// Seconds to open them all.
    pub open_secs: f64,
    /// push-gateway VmRSS before and with every connection open (KiB).
    pub rss_before_kib: u64,
    /// See `rss_before_kib`.
    pub rss_after_kib: u64,
    /// Connections that were closed by the server while idle.
    pub dropped: usize,
    /// Seconds they were held idle.
    pub held_secs: f64,
    /// CPU seconds per process while opening and holding.
    pub cpu: crate::procs::CpuSnapshot,
}

impl IdleOutcome {
    /// push-gateway memory per connection, in KiB.
    pub fn kib_per_connection(&self) -> f64 {
        if self.opened == 0 {
            return 0.0;
        }
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.opened as f64
    }
}

/// Opens `count` connections (agents reused round robin), holds them `hold`, closes them.
pub async fn run(
    env: &Env,
    agents: &[Agent],
    count: usize,
    hold: Duration,
) -> anyhow::Result<IdleOutcome> {
    let shared = Shared {
        epoch: env.epoch,
        tag: 'D',
        received: Arc::new(AtomicU64::new(0)),
        stop: CancellationToken::new(),
    };
    let cpu_before = env.procs.cpu();
    let (rss_before_kib, _) = env.procs.memory("push-gateway");
    let who: Vec<Agent> = (0..count)
        .map(|i| agents[i % agents.len()].clone())
        .collect();
    let started = Instant::now();
    let listeners = listener::open_all(&env.push, &who, &shared, env.connect_parallel).await?;
    let open_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(hold).await;
    let (rss_after_kib, _) = env.procs.memory("push-gateway");
    let cpu = delta(&cpu_before, &env.procs.cpu());
    shared.stop.cancel();
    let mut dropped = 0;
    let opened = listeners.len();
    for l in listeners {
        dropped += usize::from(l.finish().await.dropped);
    }
    Ok(IdleOutcome {
        wanted: count,
        opened,
        open_secs,
        rss_before_kib,
        rss_after_kib,
        dropped,
        held_secs: hold.as_secs_f64(),
        cpu,
    })
}
