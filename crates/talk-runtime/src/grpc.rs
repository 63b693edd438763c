//! Trace context and caller plumbing for internal gRPC calls.

use tonic::Request;
use tonic::metadata::MetadataValue;

/// Wraps a message in a request that carries the current span's `traceparent`.
pub fn request<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let traceparent = talk_telemetry::propagation::current_traceparent();
    if let Ok(value) = MetadataValue::try_from(traceparent.as_str())
        && !traceparent.is_empty()
    {
        request.metadata_mut().insert("traceparent", value);
    }
    request
}

/// Opens a server span for a gRPC method, parented on the caller's `traceparent`.
pub fn server_span<T>(method: &'static str, request: &Request<T>) -> tracing::Span {
    let span = tracing::info_span!("grpc", rpc.method = method);
    if let Some(traceparent) = request
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        talk_telemetry::propagation::set_parent(&span, traceparent);
    }
    span
}

/// Serves one gRPC call: runs `f` in the call's server span, counts it and its
/// latency by method and outcome, and maps the domain error to a status.
pub async fn handle<Req, Res, F, Fut>(
    method: &'static str,
    request: Request<Req>,
    f: F,
) -> Result<tonic::Response<Res>, tonic::Status>
where
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Res, talk_types::ApiError>>,
{
    use tracing::Instrument;
    let span = server_span(method, &request);
    let started = std::time::Instant::now();
    let result = f(request.into_inner()).instrument(span).await;
    let code = match &result {
        Ok(_) => "OK",
        Err(e) => e.kind.status(),
    };
    talk_telemetry::metrics::GRPC_REQUESTS
        .with_label_values(&[method, code])
        .inc();
    talk_telemetry::metrics::GRPC_LATENCY
        .with_label_values(&[method])
        .observe(started.elapsed().as_secs_f64());
    result
        .map(tonic::Response::new)
        .map_err(talk_types::ApiError::into_status)
}
