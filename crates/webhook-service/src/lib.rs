//! webhook-service: delivers Talk's domain events to customers' HTTP
//! endpoints as [Standard Webhooks](https://www.standardwebhooks.com/),
//! served over gRPC (`talk.v1.WebhookService`) with `/healthz`, `/readyz`
//! and `/metrics` on `TALK_OPS_ADDR` (or beside it when unset).
//!
//! [`run`] connects to its database (schema `webhook`), migrates, and starts
//! the bus consumer that turns each event into one delivery row per matching
//! endpoint (its cursor committed with the rows), the dispatcher that sends
//! due deliveries with retries, the hourly purge of the log past 30 days,
//! the purge of expired idempotency records, and the gRPC API that manages endpoints, lists deliveries, replays and
//! pings.

mod api;
pub mod db;
mod error;
mod metrics;
pub mod service;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use talk_config::{Config, Store};
use talk_events::Bus;
use talk_proto::webhook_service_server::WebhookServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::Error;
pub use talk_types::{DeliveryId, WebhookId};

use crate::service::{Consumer, Directory, Dispatcher, Settings, Webhooks};

/// Runs webhook-service on `listener` until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    bus: Arc<dyn Bus>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let db = connect(&config).await?;
    db::migration::run(&db).await.map_err(Error::Migrate)?;
    let settings = Settings::from_config(&config);
    let dispatcher = Dispatcher::new(db.clone(), settings.clone())?;
    let consumer = Consumer::new(db.clone(), bus.clone(), dispatcher.waker());
    let consuming = tokio::spawn(consumer.run(shutdown.clone()));
    let dispatching = tokio::spawn(dispatcher.clone().run(shutdown.clone()));
    let purging = tokio::spawn(service::purge::run(db.clone(), shutdown.clone()));
    let expiring = tokio::spawn(
        talk_store::expiry::Purge::new(
            db.clone(),
            "webhook-service",
            Duration::from_secs(config.idempotency_purge_secs),
        )
        .run(shutdown.clone()),
    );
    let internal = talk_runtime::Internal::from_config("webhook-service", &config);
    let directory = Directory::new(&config, &internal).map_err(Error::Directory)?;
    let webhooks = Webhooks::new(
        db.clone(),
        bus.clone(),
        settings,
        dispatcher.waker(),
        directory,
    );
    let router = internal.guard(
        tonic::service::Routes::new(WebhookServiceServer::new(api::WebhookApi::new(webhooks)))
            .into_axum_router(),
    );
    let ready: talk_runtime::ReadyCheck = Arc::new(move || {
        let db = db.clone();
        let bus = bus.clone();
        Box::pin(async move { db.ping().await.is_ok() && bus.ready().await })
    });
    tracing::info!(addr = ?listener.local_addr().ok(), "webhook-service listening");
    let served = talk_runtime::serve(listener, router, ready, shutdown.clone()).await;
    shutdown.cancel();
    for (name, task) in [
        ("webhook consumer", consuming),
        ("webhook dispatcher", dispatching),
        ("webhook log purge", purging),
        ("idempotency purge", expiring),
    ] {
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(task = name, error = %e, "task ended abnormally"),
            Err(_) => tracing::warn!(task = name, "task did not stop in time"),
        }
    }
    served?;
    Ok(())
}

/// Applies webhook-service's pending migrations and returns.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let db = connect(config).await?;
    db::migration::run(&db).await.map_err(Error::Migrate)
}

async fn connect(config: &Config) -> Result<DatabaseConnection, Error> {
    talk_store::connect(
        &config.database_url_for(Store::Webhook),
        Store::Webhook.name(),
        config.database_max_connections,
    )
    .await
    .map_err(Error::Connect)
}
