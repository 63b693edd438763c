//! The edge: Talk's public `/v1.0` REST API (axum), VoIPBIN-compatible.
//!
//! Stateless: every handler extracts and checks the request's syntax, calls
//! one or two internal gRPC services (agent, talk, message) and maps the
//! answer to VoIPBIN's JSON shapes (`talk-wire`). Cross-cutting concerns —
//! request ids, error bodies, auth, CORS, timeouts, body limits, metrics,
//! tracing and idempotency keys — live in [`middleware`] and [`extract`].

pub mod clients;
pub mod dto;
pub mod error;
pub mod extract;
pub mod limits;
pub mod middleware;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;
use talk_config::ExposeSecret;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::get;
use talk_auth::{AccessKeys, Revocations, Tokens};
use talk_config::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use clients::Clients;
use middleware::BodyLimit;

/// How long one request may take before it is answered 503 `REQUEST_TIMEOUT`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No JWT secret was configured.
    #[error("the edge needs a JWT secret (TALK_JWT_SECRET)")]
    MissingSecret,
    /// A service URL is not a valid URI.
    #[error("invalid {service} url {url:?}")]
    ServiceUrl {
        /// Which service.
        service: &'static str,
        /// The URL.
        url: String,
    },
    /// Serving failed.
    #[error("serving the edge: {0}")]
    Serve(#[from] std::io::Error),
}

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Verifies agent tokens.
    pub tokens: Arc<Tokens>,
    /// Internal service clients.
    pub clients: Clients,
    /// Refuses revoked tokens (asks agent-service).
    pub revocations: Revocations,
    /// Checks access keys (asks agent-service on every request).
    pub keys: AccessKeys,
    /// Rate limits.
    pub limits: Arc<limits::Limits>,
    /// Whether the login cookie is `Secure`.
    pub cookie_secure: bool,
}

/// `Strict-Transport-Security` on every answer, when configured.
fn hsts(max_age_secs: u64) -> Option<SetResponseHeaderLayer<HeaderValue>> {
    let value = HeaderValue::from_str(&format!("max-age={max_age_secs}")).ok()?;
    (max_age_secs > 0)
        .then(|| SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, value))
}

/// VoIPBIN's CORS policy: any origin, no credentials, 12 h preflight cache.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([
            Method::POST,
            Method::GET,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::HEAD,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::ORIGIN,
            HeaderName::from_static("x-requested-with"),
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
            middleware::IDEMPOTENCY_KEY.clone(),
            middleware::X_REQUEST_ID.clone(),
        ])
        .expose_headers([middleware::X_REQUEST_ID.clone()])
        .max_age(Duration::from_secs(12 * 3600))
}

/// The whole REST app with its middleware, without `/healthz`, `/readyz`
/// and `/metrics` (`talk_runtime::serve` puts those on the ops port).
pub fn router(config: &Config) -> Result<Router, Error> {
    if config.jwt_secret.expose_secret().is_empty() {
        return Err(Error::MissingSecret);
    }
    let clients = Clients::new(config)?;
    let state = AppState {
        tokens: Arc::new(Tokens::new(
            config.jwt_secret.expose_secret().as_bytes(),
            config.token_ttl_secs,
        )),
        revocations: Revocations::new(clients.agents.clone()),
        keys: AccessKeys::new(clients.access_keys.clone()),
        clients,
        limits: Arc::new(limits::Limits::new(config)),
        cookie_secure: config.cookie_secure,
    };
    let (api, operations) = routes::all().finish();
    let spec: routes::openapi::Spec =
        Arc::new(serde_json::to_value(routes::openapi::spec(&operations)).unwrap_or_default());
    let openapi = Router::new()
        .route("/openapi.json", get(routes::openapi::serve))
        .with_state(spec);
    let app = api
        .with_state(state)
        .merge(openapi)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .fallback(middleware::not_found)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::request_context))
                .layer(axum::middleware::from_fn(limits::rate_headers))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .option_layer(hsts(config.hsts_max_age_secs))
                .layer(cors())
                .layer(TimeoutLayer::with_status_code(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    REQUEST_TIMEOUT,
                ))
                .layer(DefaultBodyLimit::max(config.max_body_bytes))
                .layer(axum::middleware::from_fn_with_state(
                    BodyLimit(config.max_body_bytes),
                    middleware::idempotency,
                )),
        );
    Ok(app)
}

/// Serves the REST API on `listener` (and health and metrics on
/// `TALK_OPS_ADDR`, or beside it when unset) until `shutdown`.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let app = talk_runtime::Api::public(router(&config)?, &config);
    talk_runtime::serve(listener, app, talk_runtime::always_ready(), shutdown).await?;
    Ok(())
}
