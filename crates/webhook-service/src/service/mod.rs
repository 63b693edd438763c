//! The rules: endpoints and their filters ([`manage`]), the consumer that
//! queues deliveries ([`consumer`]), the dispatcher that sends them
//! ([`dispatch`]), replays ([`replay`]), and what goes on the wire
//! ([`event`], [`naming`], [`signing`]).

pub mod address;
pub mod consumer;
pub mod directory;
pub mod dispatch;
pub mod endpoint;
pub mod event;
pub mod http;
pub mod manage;
pub mod naming;
pub mod purge;
pub mod replay;
pub mod schedule;
pub mod signing;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use talk_config::Config;
use talk_events::Bus;
use talk_store::write::Writes;
use tokio::sync::Notify;

pub use consumer::Consumer;
pub use directory::Directory;
pub use dispatch::Dispatcher;
pub use schedule::Schedule;

/// webhook-service's settings, read once from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `http://` and inward addresses allowed.
    pub allow_private: bool,
    /// Retry delays.
    pub schedule: Schedule,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Most endpoints of one customer.
    pub max_per_customer: u32,
    /// Attempts in flight to one endpoint.
    pub per_endpoint: usize,
    /// How long an endpoint may fail every attempt before it is disabled.
    pub disable_after: Duration,
    /// How long a rotated-out secret keeps signing.
    pub secret_grace: Duration,
}

impl Settings {
    /// From `TALK_WEBHOOK_*`.
    pub fn from_config(config: &Config) -> Self {
        Self {
            allow_private: config.webhook_allow_private,
            schedule: Schedule::parse(&config.webhook_retry_schedule_ms),
            timeout: Duration::from_millis(config.webhook_timeout_ms.max(1)),
            max_per_customer: config.webhook_max_per_customer,
            per_endpoint: config.webhook_concurrency_per_endpoint.max(1),
            disable_after: Duration::from_secs(config.webhook_disable_after_secs),
            secret_grace: Duration::from_secs(config.webhook_secret_grace_secs),
        }
    }
}

/// Endpoints, their logs and replays, for the API.
#[derive(Clone)]
pub struct Webhooks {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    settings: Settings,
    wake: Arc<Notify>,
    directory: Directory,
    writes: Writes,
}

impl Webhooks {
    /// Manages `db`'s endpoints; `wake` tells the dispatcher of new
    /// deliveries; `directory` checks agents of agent endpoints.
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        settings: Settings,
        wake: Arc<Notify>,
        directory: Directory,
    ) -> Self {
        Self {
            writes: Writes::silent(db.clone()),
            db,
            bus,
            settings,
            wake,
            directory,
        }
    }
}
