//! `talk-bench`: drives a running Talk (separate service processes) through
//! its public REST API and WebSocket, and writes the figures as Markdown.
//! `scripts/bench.sh` starts everything and calls it; see docs/BENCHMARKS.md.

mod api;
mod idle;
mod listener;
mod nats_ref;
mod procs;
mod report;
mod scenario;
mod stats;
mod webhook;

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use api::{Agent, Api};
use procs::Procs;
use scenario::{Env, Load, Plan, TalkPlan};

/// Command line.
#[derive(Parser, Debug)]
#[command(name = "talk-bench", about = "End-to-end load generator for Talk")]
pub struct Args {
    /// Base URL of the edge (REST).
    #[arg(long, default_value = "")]
    edge: String,
    /// `host:port` of the push-gateway (WebSocket).
    #[arg(long, default_value = "")]
    push: String,
    /// Only delete this JetStream stream (the run's, once the services stopped) and exit.
    #[arg(long)]
    delete_stream: Option<String>,
    /// NATS server for the reference measurement.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    /// Password of the `admin` agent.
    #[arg(long, env = "TALK_ADMIN_PASSWORD", default_value = "")]
    admin_password: String,
    /// A service process to watch, `name=pid` (repeatable).
    #[arg(long = "pid", value_parser = parse_pid)]
    pids: Vec<(String, u32)>,
    /// Clock ticks per second of /proc CPU times.
    #[arg(long, default_value_t = 100.0)]
    clk_tck: f64,
    /// Small sizes: the whole run takes a minute or two.
    #[arg(long)]
    quick: bool,
    /// Which scenarios to run (letters of A–E, and W: E with a webhook endpoint).
    #[arg(long, default_value = "ABCDEW")]
    scenarios: String,
    /// POSTs in flight per sender in the closed-loop scenarios A and B.
    #[arg(long, default_value_t = 4)]
    inflight: usize,
    /// pgbench INSERT+COMMIT transactions per second measured in the same run.
    #[arg(long)]
    pgbench_tps: Option<f64>,
    /// Markdown file to write (the part between the bench markers is replaced).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Text file describing the machine (included verbatim).
    #[arg(long)]
    machine: Option<std::path::PathBuf>,
    /// The command line that produced the run (for the report).
    #[arg(long, default_value = "bash scripts/bench.sh")]
    command: String,
}

fn parse_pid(s: &str) -> Result<(String, u32), String> {
    let (name, pid) = s.split_once('=').ok_or("expected name=pid")?;
    Ok((name.to_owned(), pid.parse().map_err(|e| format!("{e}"))?))
}

/// Sizes of one run.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    agents: usize,
    a_messages: usize,
    b_talks: usize,
    b_messages: usize,
    c_listeners: usize,
    c_messages: usize,
    d_connections: usize,
    d_hold: Duration,
    e_rate: f64,
    e_secs: u64,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                agents: 200,
                a_messages: 2_000,
                b_talks: 40,
                b_messages: 1_000,
                c_listeners: 200,
                c_messages: 100,
                d_connections: 1_000,
                d_hold: Duration::from_secs(3),
                e_rate: 500.0,
                e_secs: 10,
            }
        } else {
            Self {
                agents: 1_000,
                a_messages: 2_000,
                b_talks: 100,
                b_messages: 2_000,
                c_listeners: 1_000,
                c_messages: 200,
                d_connections: 10_000,
                d_hold: Duration::from_secs(10),
                e_rate: 500.0,
                e_secs: 60,
            }
        }
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Results {
    setup_secs: f64,
    agents: usize,
    outcomes: Vec<stats::Outcome>,
    idle: Option<idle::IdleOutcome>,
    webhook: Option<webhook::WebhookOutcome>,
    nats: Option<nats_ref::NatsRef>,
    peak_rss_kib: Vec<(String, u64)>,
    total_cpu: procs::CpuSnapshot,
    total_secs: f64,
}

const DRAIN: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(stream) = &args.delete_stream {
        let client = async_nats::connect(args.nats_url.as_str()).await?;
        async_nats::jetstream::new(client)
            .delete_stream(stream)
            .await?;
        return Ok(());
    }
    let sizes = Sizes::new(args.quick);
    let env = Env {
        api: Api::new(&args.edge)?,
        push: args.push.clone(),
        epoch: Instant::now(),
        procs: Procs {
            services: args.pids.clone(),
            clk_tck: args.clk_tck,
        },
        connect_parallel: 64,
    };
    let run_start = Instant::now();
    let cpu_start = env.procs.cpu();
    let mut results = Results::default();
    let want = |c: char| args.scenarios.contains(c);

    let admin = env
        .api
        .login("admin", &args.admin_password)
        .await
        .context("admin login")?;
    let started = Instant::now();
    let agents = env
        .api
        .create_agents(&admin, "bench", sizes.agents, 8)
        .await
        .context("creating agents")?;
    results.setup_secs = started.elapsed().as_secs_f64();
    results.agents = agents.len();
    eprintln!(
        "{} agents created and logged in in {:.1} s",
        agents.len(),
        results.setup_secs
    );

    if want('D') {
        let out = idle::run(&env, &agents, sizes.d_connections, sizes.d_hold)
            .await
            .context("scenario D")?;
        eprintln!("D: {out:?}");
        results.idle = Some(out);
    }
    // A's talk: 20 agents, 4 senders, 10 listeners (also used by E).
    let a_agents = &agents[..20];
    let a_talk = TalkPlan {
        id: env
            .api
            .create_talk(
                &a_agents[0],
                &a_agents[1..].iter().collect::<Vec<_>>(),
                "bench A",
            )
            .await?,
        senders: a_agents[..4].to_vec(),
        listeners: a_agents[4..14].to_vec(),
    };
    if want('A') {
        let plan = Plan {
            name: "A".into(),
            setup: format!(
                "1 talk of 20 agents, 4 senders × {} in flight (closed loop), 10 listeners, {} messages of 100 B",
                args.inflight, sizes.a_messages
            ),
            tag: 'A',
            talks: vec![a_talk.clone()],
            messages: sizes.a_messages,
            size: 100,
            load: Load::Closed(4 * args.inflight),
            drain: DRAIN,
        };
        report_one(
            &mut results,
            scenario::run(&env, plan).await.context("scenario A")?,
        );
    }
    if want('B') {
        let talks = b_talks(&env, &agents, sizes.b_talks).await?;
        let plan = Plan {
            name: "B".into(),
            setup: format!(
                "{} talks of 5 agents (3 senders, 2 listeners each), {} messages of 100 B round robin, {} in flight (closed loop)",
                talks.len(),
                sizes.b_messages,
                4 * args.inflight
            ),
            tag: 'B',
            talks,
            messages: sizes.b_messages,
            size: 100,
            load: Load::Closed(4 * args.inflight),
            drain: DRAIN,
        };
        report_one(
            &mut results,
            scenario::run(&env, plan).await.context("scenario B")?,
        );
    }
    if want('C') {
        let members = &agents[..sizes.c_listeners.min(agents.len())];
        let others: Vec<&Agent> = members[1..].iter().collect();
        let id = env.api.create_talk(&members[0], &others, "bench C").await?;
        let plan = Plan {
            name: "C".into(),
            setup: format!(
                "fan-out: 1 talk of {} agents, all listening, 1 sender × {} in flight, {} messages of 100 B",
                members.len(),
                4 * args.inflight,
                sizes.c_messages
            ),
            tag: 'C',
            talks: vec![TalkPlan {
                id,
                senders: vec![members[0].clone()],
                listeners: members.to_vec(),
            }],
            messages: sizes.c_messages,
            size: 100,
            load: Load::Closed(4 * args.inflight),
            drain: DRAIN,
        };
        report_one(
            &mut results,
            scenario::run(&env, plan).await.context("scenario C")?,
        );
    }
    if want('E') {
        let n = (sizes.e_rate * sizes.e_secs as f64) as usize;
        let plan = Plan {
            name: "E".into(),
            setup: format!(
                "open loop {} msg/s for {} s ({n} messages of 100 B) into A's talk: 4 senders, 10 listeners",
                sizes.e_rate, sizes.e_secs
            ),
            tag: 'E',
            talks: vec![a_talk.clone()],
            messages: n,
            size: 100,
            load: Load::Open(sizes.e_rate),
            drain: DRAIN,
        };
        report_one(
            &mut results,
            scenario::run(&env, plan).await.context("scenario E")?,
        );
    }
    if want('W') {
        // E's load again, with a webhook endpoint (a local receiver) for
        // every message of the talk: its deliveries/s and lag, and E's
        // figures beside E's without it.
        let receiver = webhook::Receiver::start('W').await?;
        let hook = env
            .api
            .create_webhook(&admin, &receiver.url, &a_talk.id)
            .await
            .context("creating scenario W's webhook")?;
        let n = (sizes.e_rate * sizes.e_secs as f64) as usize;
        let plan = Plan {
            name: "W".into(),
            setup: format!(
                "E with a webhook endpoint on loopback receiving its talk's message_created: open loop {} msg/s for {} s",
                sizes.e_rate, sizes.e_secs
            ),
            tag: 'W',
            talks: vec![a_talk.clone()],
            messages: n,
            size: 100,
            load: Load::Open(sizes.e_rate),
            drain: DRAIN,
        };
        let outcome = scenario::run(&env, plan).await.context("scenario W")?;
        let hooked = receiver.finish(outcome.accepted, DRAIN).await;
        eprintln!("W webhook: {hooked:?}");
        env.api.delete_webhook(&admin, &hook).await?;
        report_one(&mut results, outcome);
        results.webhook = Some(hooked);
    }
    results.total_cpu = procs::delta(&cpu_start, &env.procs.cpu());
    results.total_secs = run_start.elapsed().as_secs_f64();
    for (name, _) in &args.pids {
        results
            .peak_rss_kib
            .push((name.clone(), env.procs.memory(name).1));
    }
    let (core, js) = if args.quick {
        (100_000, 1_000)
    } else {
        (500_000, 5_000)
    };
    match nats_ref::measure(&args.nats_url, core, js).await {
        Ok(r) => {
            eprintln!("NATS: {r:?}");
            results.nats = Some(r);
        }
        Err(e) => eprintln!("NATS reference failed: {e:#}"),
    }
    let markdown = report::render(&args, &sizes, &results);
    println!("{markdown}");
    if let Some(path) = &args.out {
        report::write(path, &markdown)?;
    }
    let failed = results
        .outcomes
        .iter()
        .any(|o| o.lost > 0 || o.duplicated > 0)
        || results
            .idle
            .as_ref()
            .is_some_and(|d| d.opened < d.wanted || d.dropped > 0)
        || results
            .webhook
            .as_ref()
            .is_some_and(|w| w.lost > 0 || w.duplicated > 0);
    if failed {
        anyhow::bail!("lost, duplicated or dropped deliveries: see the report");
    }
    Ok(())
}

fn report_one(results: &mut Results, outcome: stats::Outcome) {
    eprintln!(
        "{}: accepted {}/{} at {:.0}/s, post {} ms, delivered {}/{} at {:.0}/s, latency {} ms, lost {}, dup {}, unexpected {}",
        outcome.name,
        outcome.accepted,
        outcome.sent,
        outcome.accepted_rate(),
        outcome.post.cell(),
        outcome.delivered,
        outcome.expected,
        outcome.delivery_rate(),
        outcome.latency.cell(),
        outcome.lost,
        outcome.duplicated,
        outcome.unexpected
    );
    results.outcomes.push(outcome);
}

/// B's talks: disjoint groups of 5 agents; the first 3 send, the last 2 listen.
async fn b_talks(env: &Env, agents: &[Agent], count: usize) -> anyhow::Result<Vec<TalkPlan>> {
    let count = count.min(agents.len() / 5);
    let mut tasks = Vec::new();
    for k in 0..count {
        let group: Vec<Agent> = agents[k * 5..k * 5 + 5].to_vec();
        let api = env.api.clone();
        tasks.push(tokio::spawn(async move {
            let others: Vec<&Agent> = group[1..].iter().collect();
            let id = api
                .create_talk(&group[0], &others, &format!("bench B{k}"))
                .await?;
            anyhow::Ok(TalkPlan {
                id,
                senders: group[..3].to_vec(),
                listeners: group[3..].to_vec(),
            })
        }));
    }
    let mut talks = Vec::new();
    for t in tasks {
        talks.push(t.await??);
    }
    Ok(talks)
}
