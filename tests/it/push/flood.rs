//! The gateway's memory under a flood (issue 16): one authenticated client
//! sends acked control frames with the longest ids the gateway echoes, as
//! fast as it can and without reading, for `TALK_WS_FLOOD_SECS` (5 s by
//! default; the figure is 30). The gateway runs as a process of its
//! own (the real `talk` binary, with the frame rate limit off: the bounded
//! queue is what must hold) so that its RSS can be read from /proc. It stays
//! within a few MiB of where it started, and another client gets each message
//! posted meanwhile within a couple of seconds.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use talk_config::{Config, ExposeSecret};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket};
use talk_testkit::{exited, wait_ready};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use super::{SERVICES, WAIT, is_system, next, open_talk, token};

/// How much the gateway's RSS may grow over the flood.
const RSS_GROWTH_KIB: u64 = 8 * 1024;
/// How late a message may reach the other client during the flood.
const ON_TIME: Duration = Duration::from_secs(5);
/// A send that has not gone out in this long: the gateway stopped reading.
const STALL: Duration = Duration::from_secs(1);

/// `talk serve push-gateway` against the services of a cluster.
struct GatewayProcess {
    child: Child,
    url: String,
    log: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl GatewayProcess {
    async fn start(config: &Config) -> anyhow::Result<Self> {
        let (port, grpc) = (free_port()?, free_port()?);
        let log = std::env::temp_dir().join(format!("talk-flood-{}.log", config.subject_prefix));
        let env = [
            ("TALK_BUS", "nats".to_owned()),
            ("TALK_NATS_URL", config.nats_url.clone()),
            ("TALK_NATS_STREAM", config.nats_stream.clone()),
            ("TALK_SUBJECT_PREFIX", config.subject_prefix.clone()),
            (
                "TALK_JWT_SECRET",
                config.jwt_secret.expose_secret().to_owned(),
            ),
            ("TALK_AGENT_SERVICE_URL", config.agent_service_url.clone()),
            ("TALK_TALK_SERVICE_URL", config.talk_service_url.clone()),
            (
                "TALK_MESSAGE_SERVICE_URL",
                config.message_service_url.clone(),
            ),
            ("TALK_PUSH_ADDR", format!("127.0.0.1:{port}")),
            ("TALK_PUSH_GRPC_ADDR", format!("127.0.0.1:{grpc}")),
            ("TALK_WS_FRAMES_PER_SEC", "0".to_owned()),
            ("TALK_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        let file = std::fs::File::create(&log)?;
        let mut child = Command::new(talk_e2e::procs::talk_binary()?)
            .args(["serve", "push-gateway"])
            .env_clear()
            .envs(env)
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .spawn()
            .context("starting talk serve push-gateway")?;
        let http = format!("http://127.0.0.1:{port}");
        wait_ready(&http, Some(&log), exited(&mut child)).await?;
        Ok(Self {
            child,
            url: format!("ws://127.0.0.1:{port}"),
            log,
        })
    }

    /// Its resident set (`VmRSS` of /proc/<pid>/status), in KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .context("no VmRSS")?;
        Ok(line.trim().trim_end_matches("kB").trim().parse()?)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("gateway log kept in {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// What the flooding client did.
#[derive(Debug, Default)]
struct Flood {
    connections: usize,
    frames: usize,
    /// The close code of each connection the gateway stopped reading.
    closes: Vec<Option<u16>>,
}

/// Floods `url` until `until`: a connection sends until the gateway stops
/// reading it, then reads (only then) to the close, and the next one starts.
async fn flood(url: String, frame: Message, until: Instant) -> anyhow::Result<Flood> {
    let mut done = Flood::default();
    while Instant::now() < until {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
        done.connections += 1;
        let stalled = loop {
            if Instant::now() >= until {
                break false;
            }
            match timeout(STALL, ws.send(frame.clone())).await {
                Ok(Ok(())) => done.frames += 1,
                Ok(Err(_)) | Err(_) => break true,
            }
        };
        if stalled {
            let close = async {
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Close(frame) = message {
                        return frame.map(|f| u16::from(f.code));
                    }
                }
                None
            };
            done.closes.push(timeout(WAIT, close).await.ok().flatten());
        }
    }
    Ok(done)
}

/// Posts `text` as `author` to `messages`; how long until `listener` has it.
async fn delivered(
    author: &Api,
    messages: &str,
    listener: &mut Socket,
    text: &str,
) -> anyhow::Result<Duration> {
    let posted = Instant::now();
    author.post(messages, json!({"text": text}), 201).await?;
    loop {
        let frame = next(listener).await?;
        if frame["type"] == "message_created" && !is_system(&frame) {
            if frame["data"]["text"] != text {
                bail!("expected {text}, got {frame}");
            }
            return Ok(posted.elapsed());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_acked_frames_without_reading_costs_the_gateway_no_memory()
-> anyhow::Result<()> {
    let secs: u64 = match std::env::var("TALK_WS_FLOOD_SECS") {
        Ok(secs) => secs.parse().context("TALK_WS_FLOOD_SECS")?,
        Err(_) => 5,
    };
    let cluster = Cluster::start(SERVICES).await?;
    let gateway = GatewayProcess::start(&cluster.config).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;

    // Bob listens to a talk of Alice's on the gateway; one message warms it up.
    let body = json!({"type": "group", "participant_ids": [bob_id]});
    let (talk, mut sockets) = open_talk(&gateway.url, &alice, body, &[(&bob_id, &bob)]).await?;
    let mut listener = sockets.pop().context("no socket")?;
    let messages = format!("/v1.0/talks/{talk}/messages");
    delivered(&alice, &messages, &mut listener, "warm-up").await?;
    let before = gateway.rss_kib()?;

    // Carol floods: re-subscribing to her own topic is acked each time,
    // with an id of 128 bytes of JSON (the longest echoed).
    let url = format!("{}/v1.0/ws?token={}", gateway.url, token(&carol));
    let frame = json!({
        "type": "subscribe",
        "topics": [format!("agent_id:{carol_id}:chat")],
        "id": "i".repeat(126),
    });
    let until = Instant::now() + Duration::from_secs(secs);
    let flooder = tokio::spawn(flood(url, Message::text(frame.to_string()), until));

    // Meanwhile Alice posts twice a second and Bob gets each message.
    let mut peak = before;
    let mut latencies = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(500));
    while Instant::now() < until {
        pace.tick().await;
        let text = format!("during {}", latencies.len());
        latencies.push(delivered(&alice, &messages, &mut listener, &text).await?);
        peak = peak.max(gateway.rss_kib()?);
    }
    let flood = flooder.await??;
    let after = gateway.rss_kib()?;
    peak = peak.max(after);
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    eprintln!(
        "flood of {secs} s: {} frames on {} connections (closes {:?}); gateway RSS \
         {before} KiB before, {peak} KiB at most, {after} KiB after; {} messages \
         delivered meanwhile, the slowest in {slowest:?}",
        flood.frames,
        flood.connections,
        flood.closes,
        latencies.len(),
    );

    assert!(flood.frames > 1_000, "the flood hardly ran: {flood:?}");
    assert!(
        flood.closes.iter().all(|c| *c == Some(4008)),
        "the gateway stops a client that reads no answers with 4008: {flood:?}"
    );
    assert!(
        peak <= before + RSS_GROWTH_KIB,
        "RSS grew from {before} KiB to {peak} KiB"
    );
    assert!(!latencies.is_empty());
    assert!(slowest < ON_TIME, "a message took {slowest:?}");
    cluster.stop().await;
    Ok(())
}
