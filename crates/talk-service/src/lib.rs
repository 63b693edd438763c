//! talk-service: talks ("chats") and who is in them — types, lifecycle and
//! membership — served over gRPC (`talk.v1.TalkService`).
//!
//! [`run`] connects to the database, migrates, starts the outbox relay, the
//! purge of expired idempotency records, the consumer that records talk
//! activity and the periodic sweep that archives inactive talks, and serves
//! gRPC (`TalkService`, `ArchiveService`) plus
//! `/healthz`, `/readyz` and `/metrics` on `TALK_OPS_ADDR` (or beside it
//! when unset; `talk_runtime::serve`).

pub mod api;
pub mod db;
pub mod service;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use talk_config::{Config, Store};
use talk_events::Bus;
use talk_proto::archive_service_server::ArchiveServiceServer;
use talk_proto::directory_service_server::DirectoryServiceServer;
use talk_proto::signal_service_server::SignalServiceServer;
use talk_proto::talk_service_server::TalkServiceServer;
use talk_store::Outbox;
use talk_store::expiry::Purge;
use talk_types::ApiError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::db::migration::Migrator;
use crate::service::{Activity, Agents, Limits, Sweeper, Talks};

/// Why talk-service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A configured address is unusable.
    #[error("configuration: {0}")]
    Config(#[from] ApiError),
    /// Serving failed.
    #[error("serve: {0}")]
    Serve(#[from] std::io::Error),
}

/// Connects to talk-service's database (its own schema on PostgreSQL).
async fn connect(config: &Config) -> Result<DatabaseConnection, Error> {
    Ok(talk_store::connect(
        &config.database_url_for(Store::Talk),
        "talk",
        config.database_max_connections,
    )
    .await?)
}

/// Applies talk-service's migrations.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let db = connect(config).await?;
    Migrator::up(&db, None).await?;
    db.close().await?;
    Ok(())
}

/// Runs talk-service on `listener` until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    bus: Arc<dyn Bus>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let db = connect(&config).await?;
    Migrator::up(&db, None).await?;
    let relay_db =
        talk_store::connect::relay(&config.database_url_for(Store::Talk), "talk", &db).await?;
    let outbox = Outbox::new(
        relay_db,
        bus.clone(),
        config.subject_prefix.clone(),
        "talk-service",
    )
    .with_publish_delay(Duration::from_millis(config.outbox_publish_delay_ms));
    let relay = tokio::spawn(outbox.clone().run(shutdown.clone()));
    let purge = Purge::new(
        db.clone(),
        "talk-service",
        Duration::from_secs(config.idempotency_purge_secs),
    );
    let purge = tokio::spawn(purge.run(shutdown.clone()));
    let internal = talk_runtime::Internal::from_config("talk-service", &config);
    let agents = Agents::new(&config.agent_service_url, &internal)?;
    let activity = Activity::new(db.clone(), bus.clone());
    let consumer = tokio::spawn(activity.clone().run(shutdown.clone()));
    let talks = Talks::new(db.clone(), outbox, agents)
        .with_limits(Limits::from_config(&config))
        .with_activity(activity);
    let sweeper = Sweeper::new(
        talks.clone(),
        Duration::from_secs(config.archive_sweep_secs),
    );
    let sweeper = tokio::spawn(sweeper.run(shutdown.clone()));
    let router = internal.guard(
        tonic::service::Routes::new(TalkServiceServer::new(api::TalkApi::new(talks.clone())))
            .add_service(DirectoryServiceServer::new(api::DirectoryApi::new(
                talks.clone(),
            )))
            .add_service(SignalServiceServer::new(api::SignalApi::new(
                talks.clone(),
                bus.clone(),
            )))
            .add_service(ArchiveServiceServer::new(api::ArchiveApi::new(talks)))
            .into_axum_router(),
    );
    let ready: talk_runtime::ReadyCheck = {
        let db = db.clone();
        Arc::new(move || {
            let db = db.clone();
            let bus = bus.clone();
            Box::pin(async move { db.ping().await.is_ok() && bus.ready().await })
        })
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "talk-service listening");
    let served = talk_runtime::serve(listener, router, ready, shutdown.clone()).await;
    shutdown.cancel();
    for (name, task) in [
        ("outbox relay", relay),
        ("idempotency purge", purge),
        ("talk activity consumer", consumer),
        ("archive sweep", sweeper),
    ] {
        if let Err(e) = task.await {
            tracing::warn!(task = name, error = %e, "task ended abnormally");
        }
    }
    served?;
    Ok(())
}
