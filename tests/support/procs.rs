//! Talk as separate operating-system processes of the real `talk` binary,
//! for tests that restart services or scrape each one's own `/metrics`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use talk_testkit::{exited, fresh_database, fresh_prefix, nats_url, wait_ready};

use crate::cluster::ADMIN_PASSWORD;

/// Rate limits off, as in `cluster::base_config`.
const NO_RATE_LIMITS: [(&str, &str); 5] = [
    ("TALK_RATE_AGENT_WRITES_PER_SEC", "0"),
    ("TALK_RATE_AGENT_READS_PER_SEC", "0"),
    ("TALK_RATE_CUSTOMER_PER_SEC", "0"),
    ("TALK_RATE_LOGIN_ADDRESS_PER_MIN", "0"),
    ("TALK_RATE_LOGIN_USERNAME_PER_MIN", "0"),
];

/// The services, in the order they start.
pub const SERVICES: [&str; 7] = [
    "agent-service",
    "talk-service",
    "message-service",
    "push-gateway",
    "webhook-service",
    "file-service",
    "edge",
];

/// The `talk` binary next to this test binary (`cargo nextest run --workspace` builds it).
pub fn talk_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("test binary has no target folder")?;
    let binary = dir.join("talk");
    if !binary.exists() {
        bail!(
            "{} is missing: run `cargo build -p talk` first",
            binary.display()
        );
    }
    Ok(binary)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(talk_testkit::free_addr().port())
}

/// Seven `talk serve <service>` processes sharing one database and one NATS
/// stream, each with its health and metrics on an ops port of its own.
pub struct Processes {
    env: HashMap<String, String>,
    ports: HashMap<&'static str, u16>,
    ops_ports: HashMap<&'static str, u16>,
    children: HashMap<&'static str, Child>,
    logs: PathBuf,
}

impl Processes {
    /// Starts every service and waits until each is ready.
    pub async fn start() -> anyhow::Result<Self> {
        let names = fresh_prefix();
        let (mut ports, mut ops_ports) = (HashMap::new(), HashMap::new());
        for service in SERVICES {
            ports.insert(service, free_port()?);
            ops_ports.insert(service, free_port()?);
        }
        let url = |s: &str| format!("http://127.0.0.1:{}", ports[s]);
        let addr = |s: &str| format!("127.0.0.1:{}", ports[s]);
        let env: HashMap<String, String> = [
            ("TALK_BUS", "nats".to_owned()),
            ("TALK_NATS_URL", nats_url()),
            ("TALK_NATS_STREAM", names.stream.clone()),
            ("TALK_SUBJECT_PREFIX", names.subject.clone()),
            ("TALK_DATABASE_URL", fresh_database().await?),
            ("TALK_DATABASE_MAX_CONNECTIONS", "4".to_owned()),
            (
                "TALK_JWT_SECRET",
                "a-process-test-secret-0123456789".to_owned(),
            ),
            ("TALK_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("TALK_AGENT_ADDR", addr("agent-service")),
            ("TALK_TALK_ADDR", addr("talk-service")),
            ("TALK_MESSAGE_ADDR", addr("message-service")),
            ("TALK_PUSH_ADDR", addr("push-gateway")),
            ("TALK_EDGE_ADDR", addr("edge")),
            ("TALK_WEBHOOK_ADDR", addr("webhook-service")),
            ("TALK_WEBHOOK_SERVICE_URL", url("webhook-service")),
            ("TALK_FILE_ADDR", addr("file-service")),
            ("TALK_FILE_SERVICE_URL", url("file-service")),
            (
                "TALK_FILE_DIR",
                std::env::temp_dir()
                    .join(format!("talk-procs-files-{}", names.subject))
                    .display()
                    .to_string(),
            ),
            ("TALK_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
            ("TALK_PUSH_GRPC_ADDR", format!("127.0.0.1:{}", free_port()?)),
            ("TALK_AGENT_SERVICE_URL", url("agent-service")),
            ("TALK_TALK_SERVICE_URL", url("talk-service")),
            ("TALK_MESSAGE_SERVICE_URL", url("message-service")),
            ("TALK_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .chain(NO_RATE_LIMITS.map(|(k, v)| (k, v.to_owned())))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let logs = std::env::temp_dir().join(format!("talk-procs-{}", names.subject));
        std::fs::create_dir_all(&logs)?;
        let mut processes = Self {
            env,
            ports,
            ops_ports,
            children: HashMap::new(),
            logs,
        };
        for service in SERVICES {
            processes.start_one(service).await?;
        }
        Ok(processes)
    }

    /// `http://127.0.0.1:<port>` of a service.
    pub fn url(&self, service: &str) -> String {
        format!("http://127.0.0.1:{}", self.ports[service])
    }

    /// The operating-system process id of a running service.
    pub fn pid(&self, service: &str) -> Option<u32> {
        self.children.get(service).map(Child::id)
    }

    /// `http://127.0.0.1:<port>` of a service's ops port: `/healthz`,
    /// `/readyz`, `/metrics`.
    pub fn ops_url(&self, service: &str) -> String {
        format!("http://127.0.0.1:{}", self.ops_ports[service])
    }

    /// `ws://127.0.0.1:<port>` of the push-gateway.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ports["push-gateway"])
    }

    /// Starts (or restarts) one service and waits for its `/readyz`.
    pub async fn start_one(&mut self, service: &'static str) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{service}.log")))?;
        let ops = format!("127.0.0.1:{}", self.ops_ports[service]);
        let child = Command::new(talk_binary()?)
            .args(["serve", service])
            .env_clear()
            .envs(&self.env)
            .env("TALK_OPS_ADDR", ops)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {service}"))?;
        let url = self.ops_url(service);
        let child = self.children.entry(service).insert_entry(child).into_mut();
        wait_ready(&url, Some(&self.logs), exited(child))
            .await
            .with_context(|| format!("starting {service}"))
    }

    /// Stops one service gracefully (SIGTERM) and waits for it to exit.
    pub async fn stop_one(&mut self, service: &'static str) -> anyhow::Result<()> {
        let Some(mut child) = self.children.remove(service) else {
            return Ok(());
        };
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM {service} failed");
        }
        for _ in 0..400 {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = child.kill();
        bail!("{service} did not stop within 10 s of SIGTERM")
    }

    /// Restarts one service: graceful stop, then start on the same port.
    pub async fn restart(&mut self, service: &'static str) -> anyhow::Result<()> {
        self.stop_one(service).await?;
        self.start_one(service).await
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

impl Processes {
    /// Sets a variable for the services started from now on (a restart
    /// picks it up).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_owned(), value.to_owned());
    }

    /// Kills one service with SIGKILL (no shutdown of any kind) and waits
    /// until it is gone.
    pub fn kill_one(&mut self, service: &'static str) -> anyhow::Result<()> {
        if let Some(mut child) = self.children.remove(service) {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

/// Which stores `talk serve all` runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stores {
    /// The embedded default: SQLite files in a data folder, the in-process bus.
    Embedded,
    /// PostgreSQL and NATS JetStream.
    PostgresNats,
}

/// `talk serve all` as one process of the real binary, which a test may kill
/// with SIGKILL and start again on the same data and port.
pub struct AllInOne {
    env: HashMap<String, String>,
    port: u16,
    ops_port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl AllInOne {
    /// Starts it on `stores` and waits until it is ready.
    pub async fn start(stores: Stores) -> anyhow::Result<Self> {
        let names = fresh_prefix();
        let (port, ops_port) = (free_port()?, free_port()?);
        let dir = std::env::temp_dir().join(format!("talk-all-{}", names.subject));
        std::fs::create_dir_all(&dir)?;
        let mut env: HashMap<String, String> = [
            ("TALK_EDGE_ADDR", format!("127.0.0.1:{port}")),
            ("TALK_OPS_ADDR", format!("127.0.0.1:{ops_port}")),
            ("TALK_DATA_DIR", dir.join("data").display().to_string()),
            ("TALK_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("TALK_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
            // Commits wait a while for their events: more of them are in
            // flight when the process is killed.
            ("TALK_OUTBOX_PUBLISH_DELAY_MS", "30".to_owned()),
        ]
        .into_iter()
        .chain(NO_RATE_LIMITS.map(|(k, v)| (k, v.to_owned())))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if stores == Stores::PostgresNats {
            for (k, v) in [
                ("TALK_BUS", "nats".to_owned()),
                ("TALK_NATS_URL", nats_url()),
                ("TALK_NATS_STREAM", names.stream.clone()),
                ("TALK_SUBJECT_PREFIX", names.subject.clone()),
                ("TALK_DATABASE_URL", fresh_database().await?),
            ] {
                env.insert(k.to_owned(), v);
            }
        }
        let mut all = Self {
            env,
            port,
            ops_port,
            child: None,
            dir,
        };
        all.restart().await?;
        Ok(all)
    }

    /// `http://127.0.0.1:<port>`: REST and WebSocket.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Kills the process with SIGKILL and waits until it is gone.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the process (again, on the same data and port) and waits for
    /// its `/readyz`.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("talk.log"))?;
        let child = Command::new(talk_binary()?)
            .args(["serve", "all"])
            .env_clear()
            .envs(&self.env)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting talk serve all")?;
        let url = format!("http://127.0.0.1:{}", self.ops_port);
        let child = self.child.insert(child);
        wait_ready(&url, Some(&self.dir), exited(child))
            .await
            .context("starting talk serve all")
    }
}

impl Drop for AllInOne {
    fn drop(&mut self) {
        let _ = self.kill();
        if std::thread::panicking() {
            eprintln!(
                "talk serve all: data and log kept in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
