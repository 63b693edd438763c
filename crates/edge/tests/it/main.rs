//! The edge in isolation: the real router on port 0 in front of small gRPC
//! fakes, checking only the HTTP layer — error bodies, auth, limits, request
//! ids, CORS, idempotency keys and JSON shapes.

mod fakes;

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use talk_auth::{AgentClaim, Tokens};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use fakes::{Fakes, MESSAGE, PASSWORD, Recorder, TALK};

const SECRET: &str = "edge-test-secret-0123456789abcdefghij";
const OTHER: &str = "5c1a5e0e-0000-4000-8000-0000000000aa";

struct Edge {
    base: String,
    /// Where `/healthz`, `/readyz` and `/metrics` answer (`TALK_OPS_ADDR`).
    ops: String,
    token: String,
    recorder: Recorder,
    http: reqwest::Client,
    shutdown: CancellationToken,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn claim(permission: u32) -> AgentClaim {
    AgentClaim {
        id: "5c1a5e0e-0000-4000-8000-000000000005"
            .parse()
            .expect("uuid"),
        customer_id: fakes::CUSTOMER.parse().expect("uuid"),
        username: "alice".into(),
        name: "Alice".into(),
        permission,
    }
}

async fn start() -> Edge {
    let shutdown = CancellationToken::new();
    let tokens = Tokens::new(SECRET.as_bytes(), 3600);
    let recorder = Recorder::default();
    let fakes = Fakes {
        recorder: recorder.clone(),
        tokens: Some(Arc::new(tokens.clone())),
    };
    let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let grpc_url = format!("http://{}", grpc.local_addr().expect("addr"));
    tokio::spawn(talk_runtime::serve(
        grpc,
        fakes.router(),
        talk_runtime::always_ready(),
        shutdown.clone(),
    ));
    let ops = talk_testkit::free_addr();
    let config = talk_config::Config {
        jwt_secret: SECRET.into(),
        agent_service_url: grpc_url.clone(),
        talk_service_url: grpc_url.clone(),
        message_service_url: grpc_url,
        ops_addr: Some(ops),
        ..Default::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let ops = format!("http://{ops}");
    let task = tokio::spawn(edge::run(config, listener, shutdown.clone()));
    talk_testkit::wait_ready(&ops, None, talk_testkit::task_ended(&task))
        .await
        .expect("edge ready");
    let http = reqwest::Client::new();
    Edge {
        base,
        ops,
        token: tokens.issue(claim(32)).expect("token"),
        recorder,
        http,
        shutdown,
    }
}

impl Edge {
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder.send().await.expect("send");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        self.send(builder).await
    }

    async fn raw(&self, method: Method, path: &str, body: &str) -> Reply {
        let builder = self
            .request(method, path)
            .header("content-type", "application/json")
            .body(body.to_owned());
        self.send(builder).await
    }
}

#[track_caller]
fn assert_error(reply: &Reply, status: u16, kind: &str, reason: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    let error = &reply.body["error"];
    assert_eq!(error["status"], kind, "{}", reply.text);
    assert_eq!(error["reason"], reason, "{}", reply.text);
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        reply.text
    );
    let id = reply.headers["x-request-id"].to_str().expect("ascii");
    assert_eq!(
        error["request_id"], id,
        "the body names the response's request id"
    );
}

mod auth;
mod http;
mod shapes;
