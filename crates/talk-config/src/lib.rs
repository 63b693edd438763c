//! Talk's configuration: typed defaults, then an optional TOML file
//! (`TALK_CONFIG`), then `TALK_*` environment variables. Helm passes
//! configuration only through those variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
pub use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Which event bus carries domain events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusKind {
    /// In-process bus with a bounded history: the embedded default (`talk serve all`).
    Memory,
    /// NATS JetStream: production, and every multi-process deployment.
    Nats,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The shortest `TALK_JWT_SECRET` accepted: HS256's key should be at least as
/// long as its 256-bit hash (RFC 7518 §3.2).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Every setting of every service. Field `x` is read from `TALK_X`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Folder for the embedded SQLite databases and the generated JWT secret.
    pub data_dir: PathBuf,
    /// Database for all services (`postgres://…` or `sqlite://…`); each service
    /// keeps its own schema in it. Empty: one SQLite file per service in `data_dir`.
    pub database_url: String,
    /// Per-service overrides of `database_url`.
    pub agent_database_url: String,
    /// See `agent_database_url`.
    pub talk_database_url: String,
    /// See `agent_database_url`.
    pub message_database_url: String,
    /// See `agent_database_url`.
    pub webhook_database_url: String,
    /// See `agent_database_url`.
    pub file_database_url: String,
    /// Largest connection pool per service.
    pub database_max_connections: u32,

    /// `memory` (embedded default) or `nats`.
    pub bus: BusKind,
    /// NATS server URL.
    pub nats_url: String,
    /// JetStream stream that keeps Talk's events.
    pub nats_stream: String,
    /// JetStream replicas of the stream (3 in a production cluster).
    pub nats_replicas: usize,
    /// Subject prefix of every event (`<prefix>.<customer>.<talk>.<kind>`).
    pub subject_prefix: String,
    /// How long events are kept for resume, in seconds (default 7 days).
    pub event_retention_secs: u64,
    /// Events the in-memory bus keeps for resume.
    pub memory_bus_history: usize,
    /// Milliseconds the outbox relay holds each batch it took before
    /// publishing it. A fault-injection knob for tests (it widens the window
    /// between a write's commit and its event's publication); 0 in production.
    pub outbox_publish_delay_ms: u64,
    /// Seconds between two purges of the idempotency records past their
    /// 24-hour window, by each service that keeps them (`docs/API.md`).
    pub idempotency_purge_secs: u64,
    /// Seconds between two sweeps by talk-service that close (archive) the
    /// group and public talks inactive for longer than their customer's
    /// `archive_inactive_days` (off unless a customer sets it,
    /// `docs/DOMAIN.md`, "Archiving inactive talks"); 0: no periodic sweep.
    pub archive_sweep_secs: u64,

    /// Most active participants of one talk: past it, a create, an add or a
    /// join is 400 `TOO_MANY_PARTICIPANTS` (`docs/API.md`, "Limits").
    pub max_participants_per_talk: u32,
    /// Most live (not deleted) talks of one customer: past it, a create is
    /// 400 `TOO_MANY_CUSTOMER_TALKS`.
    pub max_talks_per_customer: u32,
    /// Most replies in one thread, at any depth under its top message: past
    /// it, a reply is 400 `TOO_MANY_REPLIES`.
    pub max_thread_replies: u32,

    /// Public REST API (edge) address.
    pub edge_addr: SocketAddr,
    /// WebSocket push-gateway address when run alone.
    pub push_addr: SocketAddr,
    /// gRPC address of agent-service when run alone.
    pub agent_addr: SocketAddr,
    /// gRPC address of talk-service when run alone.
    pub talk_addr: SocketAddr,
    /// gRPC address of message-service when run alone.
    pub message_addr: SocketAddr,
    /// gRPC address of webhook-service when run alone.
    pub webhook_addr: SocketAddr,
    /// gRPC address of file-service when run alone.
    pub file_addr: SocketAddr,
    /// Where clients reach agent-service.
    pub agent_service_url: String,
    /// Where clients reach talk-service.
    pub talk_service_url: String,
    /// Where clients reach message-service.
    pub message_service_url: String,
    /// Where clients reach webhook-service.
    pub webhook_service_url: String,
    /// Where clients reach file-service.
    pub file_service_url: String,
    /// gRPC address of the push-gateway's `PushService` (stats, disconnect
    /// an agent): a listener of its own, never the public WebSocket's.
    pub push_grpc_addr: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` are served, on a listener
    /// of their own that probes and Prometheus reach and the ingress never
    /// routes. Unset: on the service's API port (one port for everything).
    pub ops_addr: Option<SocketAddr>,
    /// PEM certificate chain of this process for mutual TLS between the
    /// services. `grpc_tls_cert`, `grpc_tls_key` and `grpc_tls_ca` are set
    /// together or not at all; unset: internal gRPC is plaintext.
    pub grpc_tls_cert: Option<PathBuf>,
    /// PEM private key of `grpc_tls_cert`.
    pub grpc_tls_key: Option<PathBuf>,
    /// PEM certificate(s) of the CA that signs every service's certificate:
    /// a peer must present one it signed.
    pub grpc_tls_ca: Option<PathBuf>,

    /// HS256 secret for agent tokens. Empty in the embedded default: one is
    /// generated and kept in `data_dir`. A secret: never printed (`Debug`
    /// shows `[REDACTED]`) nor serialized.
    #[serde(default, skip_serializing)]
    pub jwt_secret: SecretString,
    /// Access token lifetime in seconds (1 hour; VoIPBIN's are 7 days: a
    /// client that never refreshes logs in again when its token expires).
    pub token_ttl_secs: u64,
    /// Refresh token lifetime in seconds (30 days); each is used once.
    pub refresh_ttl_secs: u64,
    /// Password of the `admin` agent created on first start; generated and
    /// printed once when empty. A secret, like `jwt_secret`.
    #[serde(default, skip_serializing)]
    pub admin_password: SecretString,

    /// Largest request body in bytes.
    pub max_body_bytes: usize,
    /// REST writes one agent may make per second (a burst of as many); 0: no limit.
    pub rate_agent_writes_per_sec: u32,
    /// REST reads one agent may make per second (a burst of as many); 0: no limit.
    pub rate_agent_reads_per_sec: u32,
    /// REST requests all agents of one customer may make per second; 0: no limit.
    pub rate_customer_per_sec: u32,
    /// Login attempts per minute from one client address; 0: no limit.
    pub rate_login_address_per_min: u32,
    /// Login attempts per minute for one username; 0: no limit.
    pub rate_login_username_per_min: u32,
    /// Take the client address from the last `X-Forwarded-For` entry (set it
    /// behind an ingress that appends one; never when clients reach the edge
    /// directly, or they choose their own address).
    pub trust_forwarded_for: bool,
    /// `Strict-Transport-Security: max-age=<this>` on every REST answer
    /// (set it when clients reach Talk over TLS); 0: not sent.
    pub hsts_max_age_secs: u64,
    /// Mark the login cookie `Secure` (set it when clients reach Talk over TLS).
    pub cookie_secure: bool,
    /// Seconds between server pings on a WebSocket.
    pub ws_ping_secs: u64,
    /// Seconds without a pong before a socket is closed.
    pub ws_pong_timeout_secs: u64,
    /// Outgoing frames queued per socket before the client counts as slow.
    pub ws_queue_len: usize,
    /// Frames one WebSocket client may send per second, with a burst of 100
    /// (or of as many, when more); 0: no limit. Per socket.
    pub ws_frames_per_sec: u32,
    /// WebSocket connections one agent may hold open on one push-gateway; 0: no limit.
    pub ws_max_connections_per_agent: usize,
    /// Origins a browser may open a WebSocket from, comma-separated (e.g.
    /// `https://talk.example.com`); empty: any. An upgrade without an
    /// `Origin` header (not a browser) is not affected.
    pub ws_allowed_origins: String,

    /// Let webhook endpoints be `http://` URLs and loopback, private or
    /// link-local addresses (tests, a closed network); off: `https://` to
    /// public addresses only.
    pub webhook_allow_private: bool,
    /// Delays before each retry of a failed webhook delivery, in
    /// milliseconds, comma-separated; empty: 5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h, 10 h (about 28 hours in all), each with up to 10 % jitter.
    pub webhook_retry_schedule_ms: String,
    /// Timeout of one webhook delivery attempt, in milliseconds.
    pub webhook_timeout_ms: u64,
    /// Most webhook endpoints of one customer.
    pub webhook_max_per_customer: u32,
    /// Attempts in flight to one webhook endpoint at a time.
    pub webhook_concurrency_per_endpoint: usize,
    /// An endpoint whose every attempt has failed for this long, in
    /// seconds, is disabled (5 days).
    pub webhook_disable_after_secs: u64,
    /// How long the previous secret keeps signing after a rotation, in seconds (24 h).
    pub webhook_secret_grace_secs: u64,

    /// Where file-service keeps file contents: `local` (a folder,
    /// `file_dir`) or `s3` (any S3-compatible store, `file_s3_*`).
    pub file_storage: String,
    /// The folder of `local` storage; empty: `<data_dir>/files`.
    pub file_dir: String,
    /// S3 endpoint URL (e.g. `http://minio:9000`); empty: AWS.
    pub file_s3_endpoint: String,
    /// S3 bucket.
    pub file_s3_bucket: String,
    /// S3 region.
    pub file_s3_region: String,
    /// S3 access key id; empty: the environment's credentials.
    pub file_s3_access_key_id: String,
    /// S3 secret access key. A secret, like `jwt_secret`.
    #[serde(default, skip_serializing)]
    pub file_s3_secret_access_key: SecretString,
    /// Largest file, in bytes (100 MiB).
    pub file_max_bytes: u64,
    /// Bytes of files one customer may keep (10 GiB); 0: no quota.
    pub file_quota_bytes: u64,
    /// How long a signed download URL stays valid, in seconds.
    pub file_url_ttl_secs: u64,
    /// How often uploads never attached and older than a day are
    /// collected, in seconds; 0: never.
    pub file_orphan_sweep_secs: u64,

    /// `text` or `json`.
    pub log_format: LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        let any = |port| SocketAddr::from(([0, 0, 0, 0], port));
        // The internal gRPC services trust their callers' word for who they
        // act for (issue 15): by default they are reachable from this host only.
        let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            data_dir: PathBuf::from("./talk-data"),
            database_url: String::new(),
            agent_database_url: String::new(),
            talk_database_url: String::new(),
            message_database_url: String::new(),
            webhook_database_url: String::new(),
            file_database_url: String::new(),
            database_max_connections: 16,
            bus: BusKind::Memory,
            nats_url: "nats://127.0.0.1:4222".into(),
            nats_stream: "TALK".into(),
            nats_replicas: 1,
            subject_prefix: "talk".into(),
            event_retention_secs: 7 * 24 * 3600,
            memory_bus_history: 100_000,
            outbox_publish_delay_ms: 0,
            idempotency_purge_secs: 60,
            archive_sweep_secs: 3600,
            max_participants_per_talk: 1_000,
            max_talks_per_customer: 100_000,
            max_thread_replies: 1_000,
            edge_addr: any(8080),
            push_addr: any(8081),
            agent_addr: loopback(50051),
            talk_addr: loopback(50052),
            message_addr: loopback(50053),
            webhook_addr: loopback(50055),
            file_addr: loopback(50056),
            agent_service_url: "http://127.0.0.1:50051".into(),
            talk_service_url: "http://127.0.0.1:50052".into(),
            message_service_url: "http://127.0.0.1:50053".into(),
            webhook_service_url: "http://127.0.0.1:50055".into(),
            file_service_url: "http://127.0.0.1:50056".into(),
            push_grpc_addr: loopback(50054),
            ops_addr: None,
            grpc_tls_cert: None,
            grpc_tls_key: None,
            grpc_tls_ca: None,
            jwt_secret: SecretString::default(),
            token_ttl_secs: 3600,
            refresh_ttl_secs: 30 * 24 * 3600,
            admin_password: SecretString::default(),
            max_body_bytes: 1024 * 1024,
            rate_agent_writes_per_sec: 20,
            rate_agent_reads_per_sec: 50,
            rate_customer_per_sec: 1_000,
            rate_login_address_per_min: 30,
            rate_login_username_per_min: 10,
            trust_forwarded_for: false,
            hsts_max_age_secs: 0,
            cookie_secure: false,
            ws_ping_secs: 10,
            ws_pong_timeout_secs: 60,
            ws_queue_len: 1024,
            ws_frames_per_sec: 20,
            ws_max_connections_per_agent: 16,
            ws_allowed_origins: String::new(),
            webhook_allow_private: false,
            webhook_retry_schedule_ms: String::new(),
            webhook_timeout_ms: 10_000,
            webhook_max_per_customer: 100,
            webhook_concurrency_per_endpoint: 4,
            webhook_disable_after_secs: 5 * 24 * 3600,
            webhook_secret_grace_secs: 24 * 3600,
            file_storage: "local".into(),
            file_dir: String::new(),
            file_s3_endpoint: String::new(),
            file_s3_bucket: String::new(),
            file_s3_region: "us-east-1".into(),
            file_s3_access_key_id: String::new(),
            file_s3_secret_access_key: SecretString::default(),
            file_max_bytes: 100 * 1024 * 1024,
            file_quota_bytes: 10 * 1024 * 1024 * 1024,
            file_url_ttl_secs: 300,
            file_orphan_sweep_secs: 3600,
            log_format: LogFormat::Text,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read or has the wrong type.
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value was read but breaks a rule.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The services a database belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// agent-service.
    Agent,
    /// talk-service.
    Talk,
    /// message-service.
    Message,
    /// webhook-service.
    Webhook,
    /// file-service.
    File,
}

impl Store {
    /// The schema (PostgreSQL) or file stem (SQLite) of the service.
    pub fn name(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Talk => "talk",
            Self::Message => "message",
            Self::Webhook => "webhook",
            Self::File => "file",
        }
    }
}

impl Config {
    /// Defaults, then the TOML file named by `TALK_CONFIG` (if any), then `TALK_*`.
    pub fn load() -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(path) = std::env::var("TALK_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(Env::prefixed("TALK_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks rules that types alone do not express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for url in [
            &self.database_url,
            &self.agent_database_url,
            &self.talk_database_url,
            &self.message_database_url,
            &self.webhook_database_url,
            &self.file_database_url,
        ] {
            if !url.is_empty() && !url.starts_with("postgres") && !url.starts_with("sqlite:") {
                return Err(ConfigError::Invalid(format!(
                    "database url {url:?} must start with postgres:// or sqlite:"
                )));
            }
        }
        let jwt_secret = self.jwt_secret.expose_secret();
        if !jwt_secret.is_empty() && jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError::Invalid(format!(
                "TALK_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes (HS256 wants as many as its hash)"
            )));
        }
        if self.webhook_concurrency_per_endpoint == 0 || self.webhook_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "TALK_WEBHOOK_CONCURRENCY_PER_ENDPOINT and TALK_WEBHOOK_TIMEOUT_MS must be positive"
                    .into(),
            ));
        }
        if self
            .webhook_retry_schedule_ms
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .any(|d| d.parse::<u64>().is_err())
        {
            return Err(ConfigError::Invalid(
                "TALK_WEBHOOK_RETRY_SCHEDULE_MS must be milliseconds, comma-separated".into(),
            ));
        }
        if self.ws_queue_len == 0 || self.memory_bus_history == 0 {
            return Err(ConfigError::Invalid(
                "TALK_WS_QUEUE_LEN and TALK_MEMORY_BUS_HISTORY must be positive".into(),
            ));
        }
        if self.subject_prefix.is_empty() || self.subject_prefix.contains(['*', '>', ' ']) {
            return Err(ConfigError::Invalid(
                "TALK_SUBJECT_PREFIX must be a plain NATS subject token".into(),
            ));
        }
        if !matches!(self.file_storage.as_str(), "local" | "s3") {
            return Err(ConfigError::Invalid(
                "TALK_FILE_STORAGE must be local or s3".into(),
            ));
        }
        if self.file_storage == "s3" && self.file_s3_bucket.is_empty() {
            return Err(ConfigError::Invalid(
                "TALK_FILE_STORAGE=s3 needs TALK_FILE_S3_BUCKET".into(),
            ));
        }
        if self.file_max_bytes == 0 || self.file_url_ttl_secs == 0 {
            return Err(ConfigError::Invalid(
                "TALK_FILE_MAX_BYTES and TALK_FILE_URL_TTL_SECS must be positive".into(),
            ));
        }
        let tls = [&self.grpc_tls_cert, &self.grpc_tls_key, &self.grpc_tls_ca];
        if tls.iter().any(|p| p.is_some()) && !tls.iter().all(|p| p.is_some()) {
            return Err(ConfigError::Invalid(
                "TALK_GRPC_TLS_CERT, TALK_GRPC_TLS_KEY and TALK_GRPC_TLS_CA are set together (mutual TLS) or not at all".into(),
            ));
        }
        Ok(())
    }

    /// The database URL of a service: its override, else the shared URL, else
    /// a SQLite file in `data_dir`.
    pub fn database_url_for(&self, store: Store) -> String {
        let own = match store {
            Store::Agent => &self.agent_database_url,
            Store::Talk => &self.talk_database_url,
            Store::Message => &self.message_database_url,
            Store::Webhook => &self.webhook_database_url,
            Store::File => &self.file_database_url,
        };
        if !own.is_empty() {
            return own.clone();
        }
        if !self.database_url.is_empty() {
            return self.database_url.clone();
        }
        let file = self.data_dir.join(format!("{}.db", store.name()));
        format!("sqlite://{}?mode=rwc", file.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail fixes the error type
    fn environment_overrides_defaults_and_is_typed() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TALK_BUS", "nats");
            jail.set_env("TALK_WS_QUEUE_LEN", "64");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.bus, BusKind::Nats);
            assert_eq!(config.ws_queue_len, 64);
            jail.set_env("TALK_WS_QUEUE_LEN", "many");
            assert!(Config::load().is_err());
            Ok(())
        });
    }

    #[test]
    fn a_jwt_secret_shorter_than_32_bytes_is_refused() {
        let with = |secret: &str| Config {
            jwt_secret: secret.into(),
            ..Config::default()
        };
        let short = with(&"s".repeat(MIN_JWT_SECRET_BYTES - 1)).validate();
        assert!(short.is_err_and(|e| e.to_string().contains("at least 32 bytes")));
        assert!(with(&"s".repeat(MIN_JWT_SECRET_BYTES)).validate().is_ok());
        assert!(
            with("").validate().is_ok(),
            "empty: generated (embedded) or refused at start"
        );
    }

    #[test]
    fn secrets_never_reach_a_debug_print() {
        let config = Config {
            jwt_secret: "a-jwt-secret-that-must-not-be-printed".into(),
            admin_password: "hunter2-hunter2".into(),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("must-not-be-printed") && !printed.contains("hunter2"));
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail fixes the error type
    fn secrets_are_read_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TALK_JWT_SECRET", "0123456789abcdef0123456789abcdef");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.jwt_secret.expose_secret(),
                "0123456789abcdef0123456789abcdef"
            );
            jail.set_env("TALK_JWT_SECRET", "too-short");
            assert!(Config::load().is_err());
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail fixes the error type
    fn ops_address_and_mutual_tls_come_from_the_environment_tls_all_or_nothing() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.ops_addr, None, "unset: health on the API port");
            assert_eq!(config.grpc_tls_cert, None, "unset: plaintext");
            jail.set_env("TALK_OPS_ADDR", "0.0.0.0:9090");
            jail.set_env("TALK_GRPC_TLS_CERT", "/tls/tls.crt");
            jail.set_env("TALK_GRPC_TLS_KEY", "/tls/tls.key");
            let partial = Config::load().map(|_| ()).map_err(|e| e.to_string());
            assert!(partial.is_err_and(|e| e.contains("set together")));
            jail.set_env("TALK_GRPC_TLS_CA", "/tls/ca.crt");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.ops_addr,
                Some(SocketAddr::from(([0, 0, 0, 0], 9090)))
            );
            assert_eq!(config.grpc_tls_ca, Some(PathBuf::from("/tls/ca.crt")));
            Ok(())
        });
    }

    #[test]
    fn sqlite_file_per_service_by_default() {
        let config = Config::default();
        assert!(
            config
                .database_url_for(Store::Talk)
                .ends_with("talk.db?mode=rwc")
        );
    }
}
