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
