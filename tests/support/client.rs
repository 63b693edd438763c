//! A small REST client for tests.

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A response: status, JSON body (`Null` when empty) and headers.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// The body as JSON (`Value::Null` for an empty body, a string for non-JSON).
    pub body: Value,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// Asserts a `status` answer with VoIPBIN's error body: the status string
    /// of that code, `reason`, a message, and the response's `X-Request-Id`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, reason: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        let error = &self.body["error"];
        let expected_status = match status {
            400 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            409 => "FAILED_PRECONDITION",
            413 => "PAYLOAD_TOO_LARGE",
            422 => "UNPROCESSABLE_ENTITY",
            429 => "RESOURCE_EXHAUSTED",
            _ => "",
        };
        assert_eq!(error["status"], expected_status, "{}", self.body);
        assert_eq!(error["reason"], reason, "{}", self.body);
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.body
        );
        let request_id = self
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(!request_id.is_empty(), "X-Request-Id is set");
        assert_eq!(error["request_id"], request_id, "{}", self.body);
    }

    /// The body when the status is `expected`, or an error showing both.
    pub fn expect(self, expected: u16) -> anyhow::Result<Value> {
        if self.status.as_u16() != expected {
            bail!("expected {expected}, got {}: {}", self.status, self.body);
        }
        Ok(self.body)
    }
}

/// A client of the REST API, optionally authenticated.
#[derive(Clone)]
pub struct Api {
    /// Base URL (`http://127.0.0.1:port`).
    pub base: String,
    /// Bearer token.
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    /// An anonymous client.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: String) -> Self {
        Self {
            token: Some(token),
            ..self.clone()
        }
    }

    /// Logs in and returns an authenticated client.
    pub async fn login(base: &str, username: &str, password: &str) -> anyhow::Result<Self> {
        let anon = Self::new(base);
        let body = anon
            .call(
                Method::POST,
                "/auth/login",
                Some(json!({"username": username, "password": password})),
            )
            .await?
            .expect(200)?;
        let token = body["token"].as_str().context("login answered no token")?;
        Ok(Self {
            token: Some(token.to_owned()),
            ..anon
        })
    }

    /// Sends a request with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        self.send(method, path, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await?).await
    }

    /// Sends a raw body (for malformed-JSON tests).
    pub async fn raw(&self, method: Method, path: &str, body: &str) -> anyhow::Result<Reply> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Self::reply(request.send().await?).await
    }

    async fn reply(response: reqwest::Response) -> anyhow::Result<Reply> {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            body,
            headers,
        })
    }

    /// GET expecting 200.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await?.expect(200)
    }

    /// POST expecting `status`.
    pub async fn post(&self, path: &str, body: Value, status: u16) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body))
            .await?
            .expect(status)
    }

    /// Creates an agent (as an admin) and returns its id and a client logged in as it.
    pub async fn create_agent(&self, username: &str, name: &str) -> anyhow::Result<(String, Api)> {
        let password = format!("{username}-password");
        let agent = self
            .post(
                "/v1.0/agents",
                json!({"username": username, "password": password, "name": name}),
                200,
            )
            .await?;
        let id = agent["id"].as_str().context("agent without id")?.to_owned();
        Ok((id, Api::login(&self.base, username, &password).await?))
    }
}

/// [`Reply::assert_error`] as a function.
#[track_caller]
pub fn assert_error(reply: &Reply, status: u16, reason: &str) {
    reply.assert_error(status, reason);
}
