//! file-service: uploaded files. Contents live behind `object_store` (a
//! folder under the data directory by default, any S3-compatible store in
//! production); the rows (schema `file`) keep who uploaded what, its sniffed
//! type, size, checksum and the talks it is attached to. Served over gRPC
//! (`talk.v1.FileService`) with `/healthz`, `/readyz` and `/metrics` on
//! `TALK_OPS_ADDR` (or beside it when unset).
//!
//! Downloads go through signed, expiring URLs (HMAC-SHA256 with a key derived
//! from `TALK_JWT_SECRET`); the edge serves them by streaming `Download`,
//! which checks the signature and the signer's access on every request.

mod api;
pub mod db;
mod error;
pub mod service;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use talk_config::{Config, Store};
use talk_proto::file_service_server::FileServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::Error;
pub use talk_types::FileId;

use crate::service::{Files, Settings};
use crate::storage::Storage;

/// Runs file-service on `listener` until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let db = connect(&config).await?;
    db::migration::run(&db).await.map_err(Error::Migrate)?;
    let storage = Storage::from_config(&config)?;
    let internal = talk_runtime::Internal::from_config("file-service", &config);
    let talks = talk_runtime::channel(&config.talk_service_url, &internal)
        .map_err(|_| Error::ServiceUrl(config.talk_service_url.clone()))?;
    let files = Files::new(
        db.clone(),
        storage,
        talk_proto::talk_service_client::TalkServiceClient::new(talks),
        Settings::from_config(&config),
    );
    let sweeping = tokio::spawn(service::orphans::run(
        files.clone(),
        Duration::from_secs(config.file_orphan_sweep_secs),
        shutdown.clone(),
    ));
    let expiring = tokio::spawn(
        talk_store::expiry::Purge::new(
            db.clone(),
            "file-service",
            Duration::from_secs(config.idempotency_purge_secs),
        )
        .run(shutdown.clone()),
    );
    let router = internal.guard(
        tonic::service::Routes::new(
            FileServiceServer::new(api::FileApi::new(files))
                .max_decoding_message_size(api::MAX_MESSAGE_BYTES),
        )
        .into_axum_router(),
    );
    let ready: talk_runtime::ReadyCheck = Arc::new(move || {
        let db = db.clone();
        Box::pin(async move { db.ping().await.is_ok() })
    });
    tracing::info!(addr = ?listener.local_addr().ok(), "file-service listening");
    let served = talk_runtime::serve(listener, router, ready, shutdown.clone()).await;
    shutdown.cancel();
    match tokio::time::timeout(Duration::from_secs(30), sweeping).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "orphan sweep ended abnormally"),
        Err(_) => tracing::warn!("orphan sweep did not stop in time"),
    }
    if tokio::time::timeout(Duration::from_secs(30), expiring)
        .await
        .is_err()
    {
        tracing::warn!("idempotency purge did not stop in time");
    }
    served?;
    Ok(())
}

/// Applies file-service's pending migrations and returns.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let db = connect(config).await?;
    db::migration::run(&db).await.map_err(Error::Migrate)
}

async fn connect(config: &Config) -> Result<DatabaseConnection, Error> {
    talk_store::connect(
        &config.database_url_for(Store::File),
        Store::File.name(),
        config.database_max_connections,
    )
    .await
    .map_err(Error::Connect)
}
