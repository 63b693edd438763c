//! NATS: the shared server with names of a test's own, or a private server.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// The NATS server (with JetStream) tests share: `TALK_TEST_NATS`, by
/// default `nats://127.0.0.1:4222`.
pub fn nats_url() -> String {
    std::env::var("TALK_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Names on the shared NATS server that no other test uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The subject prefix: `t` and a random suffix.
    pub subject: String,
    /// The JetStream stream: `T` and the same suffix.
    pub stream: String,
}

/// A fresh subject prefix and stream name (see [`Prefix`]).
pub fn fresh_prefix() -> Prefix {
    let unique = crate::unique();
    Prefix {
        subject: format!("t{unique}"),
        stream: format!("T{unique}"),
    }
}

/// A private `nats-server` with JetStream on a free port, which a test may stop
/// and start again (same port, same store). Killed, and its store removed,
/// when dropped.
pub struct NatsServer {
    port: u16,
    store: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts one and waits until it accepts connections.
    pub async fn start() -> anyhow::Result<Self> {
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let store =
            std::env::temp_dir().join(format!("talk-nats-{}", uuid::Uuid::new_v4().simple()));
        let mut server = Self {
            port,
            store,
            child: None,
        };
        server.resume().await?;
        Ok(server)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (the store is kept).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let child = Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nats-server (is it installed? see README)")?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("nats-server did not start on port {}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.store);
    }
}
