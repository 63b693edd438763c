//! Trace context and caller plumbing for internal gRPC calls.

use talk_types::{ApiError, ErrorKind, Reason};
use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::internal::{Acting, Verified};

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

/// A request made for the agent `caller`: the channel's interceptor states
/// the agent in the call's internal token, and the serving process takes its
/// caller from there ([`handle_as`]), never from the message.
pub fn acting<T>(caller: talk_proto::Caller, message: T) -> Request<T> {
    let mut request = request(message);
    request.extensions_mut().insert(Acting(caller));
    request
}

/// Serves a call made for an agent: `f` gets the agent the call's verified
/// internal token acts for (as the service's caller type `C`). A call that
/// acts for no agent is `UNAUTHENTICATED` (the guard,
/// [`crate::Internal::guard`], has refused every call without a valid token
/// before).
pub async fn handle_as<C, Req, Res, F, Fut>(
    method: &'static str,
    request: Request<Req>,
    f: F,
) -> Result<tonic::Response<Res>, tonic::Status>
where
    C: TryFrom<talk_proto::Caller, Error = ApiError>,
    F: FnOnce(C, Req) -> Fut,
    Fut: std::future::Future<Output = Result<Res, ApiError>>,
{
    let span = server_span(method, &request);
    let acting = verified(&request).and_then(|v| v.acting.clone());
    let message = request.into_inner();
    serve(method, span, async move {
        let caller = acting.ok_or_else(|| {
            ApiError::of(
                Reason::AuthenticationRequired,
                "This method acts for an agent; the call's internal token names none.",
            )
        })?;
        f(C::try_from(caller)?, message).await
    })
    .await
}

/// Serves a call a service makes for itself (the outbox relay, the
/// push-gateway's routing, a login before there is an agent). A call made
/// for an agent is `PERMISSION_DENIED`: no agent may reach these methods,
/// even through a service acting for it.
pub async fn handle_service<Req, Res, F, Fut>(
    method: &'static str,
    request: Request<Req>,
    f: F,
) -> Result<tonic::Response<Res>, tonic::Status>
where
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Res, ApiError>>,
{
    let span = server_span(method, &request);
    let for_agent = verified(&request).is_none_or(|v| v.acting.is_some());
    let message = request.into_inner();
    serve(method, span, async move {
        if for_agent {
            return Err(ApiError::of(
                Reason::PermissionDenied,
                "This method serves Talk's own services, not a call made for an agent.",
            ));
        }
        f(message).await
    })
    .await
}

fn verified<T>(request: &Request<T>) -> Option<&Verified> {
    request.extensions().get::<Verified>()
}

/// Runs one call's work in its server span, counts it and its latency by
/// method and outcome, and maps the domain error to a status.
async fn serve<Res>(
    method: &'static str,
    span: tracing::Span,
    work: impl std::future::Future<Output = Result<Res, ApiError>>,
) -> Result<tonic::Response<Res>, tonic::Status> {
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let result = work.instrument(span).await;
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
        .map_err(ApiError::into_status)
}

/// A failed call to another of Talk's services (`what`, e.g. "agent
/// directory") as this service's caller sees it: that service's 400 or 404
/// as it is, anything else 503. A failure the other service never saw (the
/// transport's) is logged here; it logs its own.
pub fn dependency_error(status: &tonic::Status, what: &'static str) -> ApiError {
    let error = ApiError::from_status(status);
    if !talk_types::error::answered_by_talk(status) {
        tracing::warn!(error = %error, what, "call to another service failed");
    }
    match error.kind {
        ErrorKind::InvalidArgument | ErrorKind::NotFound => error,
        _ => ApiError::unavailable(what),
    }
}
