//! message-service: messages, threads, reactions, media, edits, deletes and
//! read state, served over gRPC (`talk.v1.MessageService`).
//!
//! [`run`] connects to the database, migrates, starts the outbox relay, the
//! purge of expired idempotency records and the system-message consumer, and
//! serves gRPC on its listener (`/healthz`, `/readyz` and `/metrics` on
//! `TALK_OPS_ADDR`, or beside it when unset; `talk_runtime::serve`). Access
//! to a talk is decided by talk-service (`CheckAccess`) before every read
//! and write.
//!
//! Decisions where the contract is silent:
//! - Every write (post, edit, delete, react, mark read) needs `CheckAccess` to
//!   succeed; posting, editing, deleting and reacting also need an active
//!   participant (403) of an active talk (409 `TALK_CLOSED`).
//! - Each talk has a `talk_counters` row; every write of a talk bumps it first
//!   (after locking the message it touches), so seqs are gapless in commit
//!   order, change numbers are unique per talk, and `tm_create` strictly
//!   increases with `seq` (so VoIPBIN's time-based pages never tie).
//! - A reply takes two change numbers: one for itself, one for its parent's new
//!   `reply_count`.
//! - Adding a reaction that is already there returns the message and publishes
//!   nothing; reactions move `tm_update` (as VoIPBIN does).
//! - Deleting a message also forgets its edit history (the text is removed).
//! - `unread_count` counts messages after the read position that are neither
//!   the reader's own nor deleted.
//! - System messages for close/reopen have `owner_type` `system` and the talk
//!   id as `owner_id` (the events do not say who acted).

pub mod api;
pub mod db;
pub mod service;
pub mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use talk_config::{Config, Store};
use talk_events::Bus;
use talk_proto::message_service_server::MessageServiceServer;
use talk_proto::receipt_service_server::ReceiptServiceServer;
use talk_proto::search_service_server::SearchServiceServer;
use talk_store::Outbox;
use talk_store::expiry::Purge;
use talk_types::ApiError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::service::{Limits, Messages};

/// Why message-service could not start or stopped.
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

/// Connects to message-service's database (its own schema on PostgreSQL).
async fn connect(config: &Config) -> Result<DatabaseConnection, Error> {
    Ok(talk_store::connect(
        &config.database_url_for(Store::Message),
        "message",
        config.database_max_connections,
    )
    .await?)
}

/// Applies message-service's migrations.
pub async fn migrate(config: &Config) -> Result<(), Error> {
    let db = connect(config).await?;
    db::migration::run(&db).await?;
    db.close().await?;
    Ok(())
}

/// Runs message-service on `listener` until `shutdown` is cancelled. Ready
/// (`/readyz`) once the database and the bus answer and the system-message
/// consumer listens.
pub async fn run(
    config: Config,
    bus: Arc<dyn Bus>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let db = connect(&config).await?;
    db::migration::run(&db).await?;
    let relay_db =
        talk_store::connect::relay(&config.database_url_for(Store::Message), "message", &db)
            .await?;
    let outbox = Outbox::new(
        relay_db,
        bus.clone(),
        config.subject_prefix.clone(),
        "message-service",
    )
    .with_publish_delay(Duration::from_millis(config.outbox_publish_delay_ms));
    let relay = tokio::spawn(outbox.clone().run(shutdown.clone()));
    let purge = Purge::new(
        db.clone(),
        "message-service",
        Duration::from_secs(config.idempotency_purge_secs),
    );
    let purge = tokio::spawn(purge.run(shutdown.clone()));
    let internal = talk_runtime::Internal::from_config("message-service", &config);
    let messages = Messages::new(
        db.clone(),
        outbox,
        &config.talk_service_url,
        &config.agent_service_url,
        &internal,
    )?
    .with_limits(Limits::from_config(&config))
    .with_files(&config.file_service_url, &internal)?;
    let subscribed = Arc::new(AtomicBool::new(false));
    let consumer = tokio::spawn(messages.clone().run_system_messages(
        bus.clone(),
        subscribed.clone(),
        shutdown.clone(),
    ));
    let search = service::search::Search::new(db.clone(), &config.talk_service_url, &internal)?;
    let router = internal.guard(
        tonic::service::Routes::new(MessageServiceServer::new(api::MessageApi::new(
            messages.clone(),
        )))
        .add_service(ReceiptServiceServer::new(api::ReceiptApi::new(messages)))
        .add_service(SearchServiceServer::new(api::SearchApi::new(search)))
        .into_axum_router(),
    );
    let ready: talk_runtime::ReadyCheck = {
        let db = db.clone();
        let bus = bus.clone();
        Arc::new(move || {
            let db = db.clone();
            let bus = bus.clone();
            let subscribed = subscribed.clone();
            Box::pin(async move {
                subscribed.load(Ordering::Acquire) && db.ping().await.is_ok() && bus.ready().await
            })
        })
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "message-service listening");
    let served = talk_runtime::serve(listener, router, ready, shutdown.clone()).await;
    shutdown.cancel();
    for (name, task) in [
        ("outbox relay", relay),
        ("idempotency purge", purge),
        ("system message consumer", consumer),
    ] {
        if let Err(e) = task.await {
            tracing::warn!(task = name, error = %e, "task ended abnormally");
        }
    }
    served?;
    Ok(())
}
