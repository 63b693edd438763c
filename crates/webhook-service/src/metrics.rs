//! webhook-service's metrics, in the process-wide registry of `/metrics`.

use std::sync::LazyLock;

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts};
use talk_telemetry::metrics::REGISTRY;

/// Delivery attempts by outcome: `succeeded` (2xx), `failed` (a retry
/// follows) or `exhausted` (the last attempt failed).
pub static DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let metric = IntCounterVec::new(
        Opts::new(
            "talk_webhook_deliveries_total",
            "Webhook delivery attempts by outcome",
        ),
        &["outcome"],
    )
    .expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
});

/// How long one attempt took, answer or not.
pub static ATTEMPT_LATENCY: LazyLock<Histogram> = LazyLock::new(|| {
    let metric = Histogram::with_opts(
        HistogramOpts::new(
            "talk_webhook_attempt_duration_seconds",
            "Webhook delivery attempt latency",
        )
        .buckets(vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
    )
    .expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
});

/// Deliveries due now and not yet sent.
pub static BACKLOG: LazyLock<IntGauge> = LazyLock::new(|| {
    let metric = IntGauge::new(
        "talk_webhook_backlog",
        "Webhook deliveries due and not yet sent",
    )
    .expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
});
