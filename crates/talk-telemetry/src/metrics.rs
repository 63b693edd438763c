//! The Prometheus registry every service exposes at `/metrics`.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The process-wide registry.
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

fn gauge(name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

/// HTTP requests by route, method and status.
pub static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "talk_http_requests_total",
        "HTTP requests by route, method and status",
        &["route", "method", "status"],
    )
});

/// HTTP latency by route and method.
pub static HTTP_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    let metric = HistogramVec::new(
        HistogramOpts::new("talk_http_request_duration_seconds", "HTTP request latency").buckets(
            vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ],
        ),
        &["route", "method"],
    )
    .expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
});

/// gRPC calls served, by method and code.
pub static GRPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "talk_grpc_requests_total",
        "gRPC requests served by method and code",
        &["method", "code"],
    )
});

/// gRPC latency by method.
pub static GRPC_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    let metric = HistogramVec::new(
        HistogramOpts::new("talk_grpc_request_duration_seconds", "gRPC request latency").buckets(
            vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ],
        ),
        &["method"],
    )
    .expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
});

/// Posts written per transaction by message-service's group commit.
pub static POST_BATCH_SIZE: LazyLock<Histogram> = LazyLock::new(|| {
    let opts = HistogramOpts::new(
        "talk_post_batch_size",
        "Posts written together in one transaction (group commit)",
    )
    .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
    let metric = Histogram::with_opts(opts).expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
});

/// Messages posted.
pub static MESSAGES_POSTED: LazyLock<IntCounterVec> =
    LazyLock::new(|| counter("talk_messages_posted_total", "Messages posted", &["type"]));

/// Events published to the bus, by kind.
pub static EVENTS_PUBLISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "talk_events_published_total",
        "Domain events published to the bus",
        &["kind"],
    )
});

/// Outbox rows not yet published, by service.
pub static OUTBOX_BACKLOG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "talk_outbox_backlog",
        "Outbox events committed but not yet published",
        &["service"],
    )
});

/// Age in milliseconds of the oldest unpublished outbox row, by service.
pub static OUTBOX_AGE_MS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "talk_outbox_oldest_age_ms",
        "Age of the oldest unpublished outbox event in milliseconds",
        &["service"],
    )
});

/// Open WebSocket connections.
pub static WS_CONNECTIONS: LazyLock<IntGauge> =
    LazyLock::new(|| gauge("talk_ws_connections", "Open WebSocket connections"));

/// Frames delivered to WebSocket clients, by event kind.
pub static WS_DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "talk_ws_deliveries_total",
        "Event frames delivered to WebSocket clients",
        &["kind"],
    )
});

/// Frames dropped for slow clients, by event kind.
pub static WS_DROPS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "talk_ws_drops_total",
        "Event frames shed for slow WebSocket clients",
        &["kind"],
    )
});

/// WebSocket disconnects, by reason.
pub static WS_DISCONNECTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "talk_ws_disconnects_total",
        "WebSocket disconnects by reason",
        &["reason"],
    )
});

/// The registry in Prometheus' text format.
pub fn render() -> String {
    let mut buffer = Vec::new();
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}
