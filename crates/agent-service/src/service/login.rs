//! Login by username and password, and refresh: a login answers a
//! short-lived access token and a single-use refresh token; a refresh trades
//! a refresh token for the next pair. A refresh token presented twice means
//! someone else may hold it (the usual theft signal of rotating refresh
//! tokens): every token of its agent is revoked at once.

use rand::RngCore as _;
use sea_orm::TransactionTrait;
use sha2::{Digest, Sha256};
use talk_store::db_error;
use talk_types::{ApiError, Reason, time};
use uuid::Uuid;

use super::{Agents, password, validate};
use crate::db::entities::{agent, refresh_token};
use crate::db::queries::agents::{self, Changes};
use crate::db::queries::refresh_tokens;
use crate::wire;

/// What a login or a refresh answers.
#[derive(Debug)]
pub struct Session {
    /// The access token.
    pub token: String,
    /// The single-use refresh token (`<id>.<secret>`).
    pub refresh_token: String,
    /// The agent.
    pub agent: agent::Model,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: u64,
}

impl Agents {
    /// Checks the credentials of a live agent and opens a session for it.
    /// Unknown users, wrong passwords and deleted agents look the same: 401.
    pub async fn login(&self, username: &str, password: String) -> Result<Session, ApiError> {
        if username.is_empty() {
            return Err(validate::missing("username"));
        }
        if password.is_empty() {
            return Err(validate::missing("password"));
        }
        let row = agents::find_login(&self.db, username)
            .await
            .map_err(db_error)?;
        // An agent without a password (a bot) is checked against the dummy
        // hash, as an unknown username: it never logs in, at the same cost.
        let phc = row
            .as_ref()
            .map(|r| r.password_hash.clone())
            .filter(|h| !h.is_empty());
        if !password::verify(password, phc).await? {
            tracing::info!(username, "login refused");
            return Err(ApiError::invalid_credentials());
        }
        let row = row.ok_or_else(ApiError::invalid_credentials)?;
        let session = self.session(&self.db, row).await?;
        tracing::info!(agent_id = %session.agent.id, "login");
        Ok(session)
    }

    /// Trades a refresh token for the next access and refresh token. An
    /// unknown, expired or revoked one is 401 INVALID_REFRESH_TOKEN; one used
    /// before is 401 REFRESH_TOKEN_REUSED and revokes every token of its
    /// agent (access tokens by moving its token version, refresh tokens with
    /// them: each is bound to the version it was issued at).
    pub async fn refresh(&self, presented: &str) -> Result<Session, ApiError> {
        if presented.is_empty() {
            return Err(validate::missing("refresh_token"));
        }
        let invalid = || ApiError::from(Reason::InvalidRefreshToken);
        let (id, secret) = presented.split_once('.').ok_or_else(invalid)?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        let txn = self.db.begin().await.map_err(db_error)?;
        let row = refresh_tokens::find(&txn, id)
            .await
            .map_err(db_error)?
            .filter(|row| row.secret_hash == digest(secret))
            .ok_or_else(invalid)?;
        let now = time::now();
        if row.tm_used.is_some()
            || !refresh_tokens::use_once(&txn, id, now)
                .await
                .map_err(db_error)?
        {
            let revoke = Changes {
                revoke: true,
                ..Changes::default()
            };
            agents::update(&txn, row.customer_id, row.agent_id, revoke, now)
                .await
                .map_err(db_error)?;
            txn.commit().await.map_err(db_error)?;
            tracing::warn!(agent_id = %row.agent_id, "refresh token reused: every token of the agent revoked");
            return Err(Reason::RefreshTokenReused.into());
        }
        let agent = agents::find(&txn, row.customer_id, row.agent_id)
            .await
            .map_err(db_error)?
            .filter(|agent| agent.token_version == row.token_version && row.tm_expire > now)
            .ok_or_else(invalid)?;
        let session = self.session(&txn, agent).await?;
        txn.commit().await.map_err(db_error)?;
        tracing::info!(agent_id = %session.agent.id, "token refreshed");
        Ok(session)
    }

    /// An access token for `agent` at its token version, and a new refresh
    /// token stored in `db`.
    async fn session<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        agent: agent::Model,
    ) -> Result<Session, ApiError> {
        let version = u64::try_from(agent.token_version).unwrap_or(0);
        let token = self.tokens.issue_at(wire::claim(&agent), version)?;
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let secret = hex::encode(secret);
        let now = time::now();
        let row = refresh_token::Model {
            id: Uuid::now_v7(),
            agent_id: agent.agent_id(),
            customer_id: agent.customer_id,
            secret_hash: digest(&secret),
            token_version: agent.token_version,
            tm_create: now,
            tm_expire: now + self.refresh_ttl,
            tm_used: None,
        };
        let refresh_token = format!("{}.{secret}", row.id);
        refresh_tokens::insert(db, row).await.map_err(db_error)?;
        Ok(Session {
            token,
            refresh_token,
            agent,
            expires_in: self.tokens.ttl_secs(),
            refresh_expires_in: u64::try_from(self.refresh_ttl.num_seconds()).unwrap_or(0),
        })
    }
}

/// Hex SHA-256 of a refresh token's secret or an access key's token: what
/// the tables keep.
pub(super) fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How often used and expired refresh tokens are deleted.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes refresh tokens that expired, or were used over a day ago (a
/// reuse within that day is still recognised as one), every hour until
/// `shutdown`, in batches that never hold a lock long.
pub async fn purge_refresh_tokens(
    db: sea_orm::DatabaseConnection,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let used_before = time::now() - chrono::Duration::days(1);
        loop {
            match refresh_tokens::purge_batch(&db, time::now(), used_before).await {
                Ok(0) => break,
                Ok(_) => tokio::task::yield_now().await,
                Err(e) => {
                    tracing::warn!(error = %e, "refresh token purge failed");
                    break;
                }
            }
        }
    }
}
