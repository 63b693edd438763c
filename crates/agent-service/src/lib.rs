//! agent-service: customers, agents, passwords, login, refresh tokens and
//! access keys, served over gRPC (`talk.v1.AgentService`,
//! `talk.v1.AccessKeyService`), with `/healthz`, `/readyz` and
//! `/metrics` on `TALK_OPS_ADDR` (or beside it when unset).
//!
//! On start it connects to its database (schema `agent`), migrates, and on an
//! empty database creates a default customer with an `admin` agent; it
//! purges expired idempotency records and refresh tokens in the background.

mod api;
mod db;
mod error;
#[doc(hidden)]
pub mod service;
mod wire;

use std::sync::Arc;
use talk_config::ExposeSecret;

use sea_orm::DatabaseConnection;
use talk_config::{Config, Store};
use talk_proto::access_key_service_server::AccessKeyServiceServer;
use talk_proto::agent_service_server::AgentServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::Error;

use crate::service::bootstrap::{self, Outcome};

/// Runs agent-service on `listener` until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    if config.jwt_secret.expose_secret().is_empty() {
        return Err(Error::MissingJwtSecret);
    }
    let db = connect(&config).await?;
    db::migration::run(&db).await.map_err(Error::Migrate)?;
    service::password::prepare()
        .await
        .map_err(Error::Bootstrap)?;
    match bootstrap::run(&db, config.admin_password.expose_secret())
        .await
        .map_err(Error::Bootstrap)?
    {
        Outcome::CreatedWithGenerated(password) => bootstrap::announce(&password),
        Outcome::Created | Outcome::AlreadyDone => {}
    }
    let tokens = talk_auth::Tokens::new(
        config.jwt_secret.expose_secret().as_bytes(),
        config.token_ttl_secs,
    );
    let agents = service::Agents::new(db.clone(), tokens, config.refresh_ttl_secs);
    let purges = [
        tokio::spawn(
            talk_store::expiry::Purge::new(
                db.clone(),
                "agent-service",
                std::time::Duration::from_secs(config.idempotency_purge_secs),
            )
            .run(shutdown.clone()),
        ),
        tokio::spawn(service::purge_refresh_tokens(db.clone(), shutdown.clone())),
    ];
    let internal = talk_runtime::Internal::from_config("agent-service", &config);
    let router = internal.guard(
        tonic::service::Routes::new(AgentServiceServer::new(api::AgentApi::new(agents.clone())))
            .add_service(AccessKeyServiceServer::new(api::AccessKeyApi::new(agents)))
            .into_axum_router(),
    );
    let ready: talk_runtime::ReadyCheck = Arc::new(move || {
        let db = db.clone();
        Box::pin(async move { db.ping().await.is_ok() })
    });
    tracing::info!(addr = ?listener.local_addr().ok(), "agent-service listening");
    let served = talk_runtime::serve(listener, router, ready, shutdown.clone()).await;
    shutdown.cancel();
    for purge in purges {
        if let Err(e) = purge.await {
            tracing::warn!(error = %e, "purge ended abnormally");
        }
    }
    served?;
    Ok(())
}

/// Applies agent-service's pending migrations and returns.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let db = connect(config).await?;
    db::migration::run(&db).await.map_err(Error::Migrate)
}

async fn connect(config: &Config) -> Result<DatabaseConnection, Error> {
    talk_store::connect(
        &config.database_url_for(Store::Agent),
        Store::Agent.name(),
        config.database_max_connections,
    )
    .await
    .map_err(Error::Connect)
}
