//! One trace from POST to delivery: the edge's request span, message-service's
//! gRPC span and the push-gateway's delivery span share a trace id, carried
//! REST → gRPC metadata → NATS headers → WebSocket push.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket, Topology};
use tracing_subscriber::layer::SubscriberExt;

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_one_trace_from_post_to_websocket_delivery() -> anyhow::Result<()> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")));
    // This test binary's process is this test's own under nextest; elsewhere the
    // first installer wins and the assertions below still hold for it.
    let _ = tracing::subscriber::set_global_default(subscriber);

    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = talk["id"].as_str().unwrap_or_default();
    let mut socket =
        Socket::connect(&cluster.push, bob.token.as_deref().unwrap_or_default(), "").await?;
    socket
        .send(
            json!({"type": "subscribe", "topics": [format!("agent_id:{bob_id}:chat")], "id": "s"}),
        )
        .await?;
    socket.expect("ack", Duration::from_secs(10)).await?;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let posted = alice
        .send(
            reqwest::Method::POST,
            &format!("/v1.0/talks/{talk_id}/messages"),
            Some(json!({"text": "traced"})),
            &[("traceparent", &format!("00-{trace_id}-00f067aa0ba902b7-01"))],
        )
        .await?
        .expect(201)?;
    let frame = socket
        .expect("message_created", Duration::from_secs(10))
        .await?;
    assert_eq!(frame["data"]["id"], posted["id"]);

    // The delivery span ends right after the frame is queued; wait until it is exported.
    let mut spans = Vec::new();
    for _ in 0..200 {
        spans = exporter.get_finished_spans()?;
        if spans
            .iter()
            .any(|s| s.name == "ws.deliver" && s.span_context.trace_id().to_string() == trace_id)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let in_trace: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id().to_string() == trace_id)
        .collect();
    let edge = in_trace.iter().any(|s| {
        s.name == "http" && attribute(s, "http.route").is_some_and(|r| r.contains("/messages"))
    });
    let message_service = in_trace
        .iter()
        .any(|s| s.name == "grpc" && attribute(s, "rpc.method").as_deref() == Some("PostMessage"));
    let delivery = in_trace.iter().any(|s| s.name == "ws.deliver");
    let names: Vec<_> = in_trace.iter().map(|s| s.name.to_string()).collect();
    assert!(edge, "edge request span in the trace: {names:?}");
    assert!(
        message_service,
        "message-service span in the trace: {names:?}"
    );
    assert!(
        delivery,
        "push-gateway delivery span in the trace: {names:?}"
    );
    cluster.stop().await;
    Ok(())
}
