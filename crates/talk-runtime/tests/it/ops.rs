//! Health and metrics on the ops port (`TALK_OPS_ADDR`), never on the API's;
//! beside the API only when no ops address is configured.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::routing::get;
use talk_config::Config;
use talk_runtime::{Api, ReadyCheck};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn hello() -> Router {
    Router::new().route("/hello", get(|| async { "hi" }))
}

/// A readiness the test switches.
fn switch(ready: &Arc<AtomicBool>) -> ReadyCheck {
    let ready = ready.clone();
    Arc::new(move || {
        let ready = ready.load(Ordering::SeqCst);
        Box::pin(async move { ready })
    })
}

async fn status(url: String) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn health_and_metrics_answer_on_the_ops_port_and_never_on_the_api_port() {
    let ops = talk_testkit::free_addr();
    let config = Config {
        ops_addr: Some(ops),
        ..Config::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let ready = Arc::new(AtomicBool::new(true));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(talk_runtime::serve(
        listener,
        Api::public(hello(), &config),
        switch(&ready),
        shutdown.clone(),
    ));
    let ops = format!("http://{ops}");
    talk_testkit::wait_ready(&ops, None, talk_testkit::task_ended(&task))
        .await
        .unwrap();

    assert_eq!(status(format!("{api}/hello")).await, 200);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(status(format!("{api}{path}")).await, 404, "API port {path}");
        assert_eq!(status(format!("{ops}{path}")).await, 200, "ops port {path}");
    }
    assert_eq!(status(format!("{ops}/hello")).await, 404);
    let metrics = reqwest::get(format!("{ops}/metrics")).await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );

    ready.store(false, Ordering::SeqCst);
    assert_eq!(status(format!("{ops}/readyz")).await, 503);
    assert_eq!(status(format!("{ops}/healthz")).await, 200);

    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn without_an_ops_address_health_shares_the_api_port() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(talk_runtime::serve(
        listener,
        Api::public(hello(), &Config::default()),
        talk_runtime::always_ready(),
        shutdown.clone(),
    ));
    talk_testkit::wait_ready(&api, None, talk_testkit::task_ended(&task))
        .await
        .unwrap();
    assert_eq!(status(format!("{api}/hello")).await, 200);
    assert_eq!(status(format!("{api}/metrics")).await, 200);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_ops_address_in_use_stops_the_service_with_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = Config {
        ops_addr: Some(taken.local_addr().unwrap()),
        ..Config::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = talk_runtime::serve(
        listener,
        Api::public(hello(), &config),
        talk_runtime::always_ready(),
        CancellationToken::new(),
    )
    .await;
    let error = served.unwrap_err().to_string();
    assert!(error.contains("ops listener"), "{error}");
}
