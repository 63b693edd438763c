//! The public REST API, as a customer's client uses it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// An agent the bench created, with its token.
#[derive(Clone, Debug)]
pub struct Agent {
    /// The agent's id (uuid string).
    pub id: String,
    /// A bearer token for it.
    pub token: String,
}

/// A REST client for the edge.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    /// Whether posts carry an `Idempotency-Key` (`BENCH_KEYS=0`: no).
    keys: bool,
}

/// The password every bench agent gets.
const PASSWORD: &str = "bench-password-1";

impl Api {
    /// A client for the edge at `base` (`http://host:port`).
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(512)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            keys: std::env::var("BENCH_KEYS").as_deref() != Ok("0"),
        })
    }

    async fn post(&self, token: Option<&str>, path: &str, body: &Value) -> anyhow::Result<Value> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("POST {path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// `POST /auth/login` → token.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({"username": username, "password": password});
        let answer = self.post(None, "/auth/login", &body).await?;
        string(&answer, "token")
    }

    /// Creates `count` agents (as admin) and logs each in, `parallel` at a time.
    pub async fn create_agents(
        &self,
        admin_token: &str,
        prefix: &str,
        count: usize,
        parallel: usize,
    ) -> anyhow::Result<Vec<Agent>> {
        let permits = Arc::new(Semaphore::new(parallel.max(1)));
        let mut tasks = Vec::with_capacity(count);
        for i in 0..count {
            let api = self.clone();
            let admin = admin_token.to_owned();
            let username = format!("{prefix}{i}");
            let permits = permits.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await?;
                let body = json!({"username": username, "password": PASSWORD, "name": username});
                let agent = api.post(Some(&admin), "/v1.0/agents", &body).await?;
                let id = string(&agent, "id")?;
                let token = api.login(&username, PASSWORD).await?;
                anyhow::Ok(Agent { id, token })
            }));
        }
        let mut agents = Vec::with_capacity(count);
        for task in tasks {
            agents.push(task.await??);
        }
        Ok(agents)
    }

    /// `POST /v1.0/talks` (a group) by `creator` with `others` → the talk id.
    pub async fn create_talk(
        &self,
        creator: &Agent,
        others: &[&Agent],
        name: &str,
    ) -> anyhow::Result<String> {
        let ids: Vec<&str> = others.iter().map(|a| a.id.as_str()).collect();
        let body = json!({"type": "group", "name": name, "participant_ids": ids});
        let talk = self
            .post(Some(&creator.token), "/v1.0/talks", &body)
            .await?;
        string(&talk, "id")
    }

    /// `POST /v1.0/talks/{id}/messages` with a fresh `Idempotency-Key` (as a
    /// client that retries safely sends every post): Ok(true) on 201,
    /// Ok(false) on any other status.
    pub async fn post_message(&self, token: &str, talk: &str, text: &str) -> anyhow::Result<bool> {
        let mut request = self
            .http
            .post(format!("{}/v1.0/talks/{talk}/messages", self.base))
            .bearer_auth(token);
        if self.keys {
            request = request.header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        }
        let response = request.json(&json!({ "text": text })).send().await?;
        let created = response.status() == reqwest::StatusCode::CREATED;
        // Read the body so the connection goes back to the pool.
        let _ = response.bytes().await?;
        Ok(created)
    }
}

impl Api {
    /// `POST /v1.0/webhooks` (as admin): an endpoint at `url` for the
    /// `message_created` events of `talk` → its id.
    pub async fn create_webhook(
        &self,
        admin: &str,
        url: &str,
        talk: &str,
    ) -> anyhow::Result<String> {
        let body = json!({
            "url": url,
            "naming": "seed",
            "event_types": ["message_created"],
            "talk_ids": [talk],
        });
        let webhook = self.post(Some(admin), "/v1.0/webhooks", &body).await?;
        string(&webhook, "id")
    }

    /// `DELETE /v1.0/webhooks/{id}` (as admin).
    pub async fn delete_webhook(&self, admin: &str, id: &str) -> anyhow::Result<()> {
        let response = self
            .http
            .delete(format!("{}/v1.0/webhooks/{id}", self.base))
            .bearer_auth(admin)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("DELETE webhook {id}: {}", response.status());
        }
        Ok(())
    }
}

fn string(value: &Value, field: &str) -> anyhow::Result<String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no {field} in {value}"))
}
