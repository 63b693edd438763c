//! Access keys (VoIPBIN's accesskeys): long-lived credentials, each acting as
//! the agent it belongs to. A key's token is `vb_` and 43 random
//! alphanumerics (≈256 bits); only its SHA-256 is stored. A slow hash
//! (argon2) protects guessable secrets, passwords; a token this random cannot
//! be guessed from its hash, and every request with a key looks it up, so the
//! hash must be cheap. The token is shown once, in the answer of the create.
//!
//! Admins (and managers, super admins) manage the keys of every agent of
//! their customer; any agent manages its own. A key of a super admin is made
//! by a super admin only (it would act as one). Writes take no idempotency
//! record: a replayed create would have to keep the token to answer it.

use rand::Rng as _;
use sea_orm::TransactionTrait;
use talk_proto::{AccessKeyState, WriteOptions};
use talk_store::db_error;
use talk_types::{AgentId, ApiError, Reason, time};
use uuid::Uuid;

use super::{Agents, Caller, login::digest, validate};
use crate::db::entities::{access_key, agent};
use crate::db::queries::{access_keys, agents};
use crate::wire;

/// What every token starts with (VoIPBIN's keys look like `vb_a3Bf9xKm…`).
pub const TOKEN_PREFIX: &str = "vb_";
/// Random characters after the prefix: 43 of 62 symbols ≈ 256 bits.
const TOKEN_RANDOM_CHARS: usize = 43;
/// How much of the token `token_prefix` shows (VoIPBIN: `vb_` and 8).
const DISPLAY_CHARS: usize = 11;
/// The longest expiry: 100 years.
pub const MAX_EXPIRE_SECS: i64 = 100 * 365 * 24 * 3600;
/// Longer presented tokens are not looked up.
const MAX_TOKEN_LEN: usize = 128;
/// Most keys one `AccessKeyStates` call may name.
pub const MAX_STATES: usize = 1_000;

/// A new key as the caller asked for it.
pub struct NewAccessKey {
    /// The agent it acts as; `None`: the caller.
    pub agent_id: Option<AgentId>,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// VoIPBIN's `expire`: seconds from now.
    pub expire_secs: Option<i64>,
    /// An absolute expiry, microseconds.
    pub tm_expire: Option<i64>,
}

/// One page of keys, newest first.
#[derive(Debug)]
pub struct KeyPage {
    /// The keys of the page.
    pub keys: Vec<access_key::Model>,
    /// `tm_create` of the last key, or empty for an empty page.
    pub next_page_token: String,
}

/// 404 ACCESSKEY_NOT_FOUND.
fn not_found() -> ApiError {
    ApiError::from(Reason::AccessKeyNotFound)
}

/// Whose keys the caller sees: every key of its customer (admins), or its own.
fn visible_to(caller: &Caller) -> Option<AgentId> {
    (!caller.is_admin()).then_some(caller.agent_id)
}

fn invalid_expire(message: &str) -> ApiError {
    ApiError::of(Reason::InvalidExpire, message)
}

/// When a key asked for with `expire_secs` or `tm_expire` expires, if ever.
fn expiry(
    expire_secs: Option<i64>,
    tm_expire: Option<i64>,
    now: time::Timestamp,
) -> Result<Option<time::Timestamp>, ApiError> {
    let latest = now + chrono::Duration::seconds(MAX_EXPIRE_SECS);
    match (expire_secs, tm_expire) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid_expire(
            "Give either expire (seconds from now) or tm_expire, not both.",
        )),
        (Some(secs), None) => {
            if (1..=MAX_EXPIRE_SECS).contains(&secs) {
                Ok(Some(now + chrono::Duration::seconds(secs)))
            } else {
                Err(invalid_expire(&format!(
                    "The expire must be 1 to {MAX_EXPIRE_SECS} seconds."
                )))
            }
        }
        (None, Some(micros)) => match time::from_micros(micros) {
            Some(at) if at > now && at <= latest => Ok(Some(at)),
            _ => Err(invalid_expire(
                "The tm_expire must be in the future, at most 100 years ahead.",
            )),
        },
    }
}

/// A fresh token: the prefix and 43 random alphanumerics.
fn generate_token() -> String {
    let random: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(TOKEN_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("{TOKEN_PREFIX}{random}")
}

impl Agents {
    /// Creates a key for `new.agent_id` (default: the caller). Another
    /// agent's key needs an admin (403); an agent of no customer of the
    /// caller's is `400 UNKNOWN_AGENT`. The answer carries the token.
    pub async fn create_access_key(
        &self,
        caller: &Caller,
        _options: Option<&WriteOptions>,
        new: NewAccessKey,
    ) -> Result<talk_proto::AccessKey, ApiError> {
        let NewAccessKey {
            agent_id,
            name,
            detail,
            expire_secs,
            tm_expire,
        } = new;
        let target = agent_id.unwrap_or(caller.agent_id);
        if target != caller.agent_id && !caller.is_admin() {
            return Err(ApiError::of(
                Reason::PermissionDenied,
                "Only an admin creates access keys for another agent.",
            ));
        }
        validate::name(&name)?;
        validate::detail(&detail)?;
        let now = time::now();
        let tm_expire = expiry(expire_secs, tm_expire, now)?;
        let txn = self.db.begin().await.map_err(db_error)?;
        let owner = agents::find_for_update(&txn, caller.customer_id, target)
            .await
            .map_err(db_error)?
            .ok_or_else(|| {
                ApiError::of(
                    Reason::UnknownAgent,
                    format!("The agent_id {target} is no agent of your customer."),
                )
            })?;
        if owner.permission_bits() & talk_auth::PERMISSION_SUPER_ADMIN != 0
            && !caller.is_super_admin()
        {
            return Err(ApiError::permission_denied());
        }
        let token = generate_token();
        let row = access_key::Model {
            id: Uuid::now_v7(),
            customer_id: caller.customer_id,
            agent_id: owner.agent_id(),
            name,
            detail,
            token_hash: digest(&token),
            token_prefix: token.chars().take(DISPLAY_CHARS).collect(),
            tm_expire,
            tm_create: now,
            tm_update: now,
            tm_delete: None,
        };
        let row = access_keys::insert(&txn, row).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        tracing::info!(access_key_id = %row.id, agent_id = %row.agent_id, by = %caller.agent_id, "access key created");
        Ok(wire::access_key(&row, token))
    }

    /// A live key the caller may see (else 404).
    pub async fn get_access_key(
        &self,
        caller: &Caller,
        id: Uuid,
    ) -> Result<access_key::Model, ApiError> {
        access_keys::find(&self.db, caller.customer_id, visible_to(caller), id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)
    }

    /// A page of the keys the caller may see, newest first (VoIPBIN's paging).
    pub async fn list_access_keys(
        &self,
        caller: &Caller,
        page_size: u32,
        page_token: &str,
    ) -> Result<KeyPage, ApiError> {
        let (size, before) = talk_types::page::parse(page_size, page_token)?;
        let keys = access_keys::list(
            &self.db,
            caller.customer_id,
            visible_to(caller),
            before,
            size,
        )
        .await
        .map_err(db_error)?;
        let next_page_token = keys
            .last()
            .map(|k| time::format(&k.tm_create))
            .unwrap_or_default();
        Ok(KeyPage {
            keys,
            next_page_token,
        })
    }

    /// Changes a key's name and/or detail.
    pub async fn update_access_key(
        &self,
        caller: &Caller,
        _options: Option<&WriteOptions>,
        id: Uuid,
        name: Option<String>,
        detail: Option<String>,
    ) -> Result<access_key::Model, ApiError> {
        if let Some(name) = &name {
            validate::name(name)?;
        }
        if let Some(detail) = &detail {
            validate::detail(detail)?;
        }
        let txn = self.db.begin().await.map_err(db_error)?;
        let mut row = access_keys::find(&txn, caller.customer_id, visible_to(caller), id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)?;
        let now = time::now();
        access_keys::update(
            &txn,
            caller.customer_id,
            id,
            name.clone(),
            detail.clone(),
            now,
        )
        .await
        .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        if let Some(name) = name {
            row.name = name;
        }
        if let Some(detail) = detail {
            row.detail = detail;
        }
        row.tm_update = now;
        Ok(row)
    }

    /// Deletes a key: the next request with it is refused.
    pub async fn delete_access_key(
        &self,
        caller: &Caller,
        _options: Option<&WriteOptions>,
        id: Uuid,
    ) -> Result<access_key::Model, ApiError> {
        let mut row = self.get_access_key(caller, id).await?;
        let now = time::now();
        if !access_keys::soft_delete(&self.db, caller.customer_id, id, now)
            .await
            .map_err(db_error)?
        {
            return Err(not_found());
        }
        row.tm_delete = Some(now);
        row.tm_update = now;
        tracing::info!(access_key_id = %id, by = %caller.agent_id, "access key deleted");
        Ok(row)
    }

    /// The key a presented token belongs to and its agent, as they now
    /// stand; an unknown, deleted or expired key, or one of a deleted agent,
    /// is `401 INVALID_CREDENTIALS`.
    pub async fn verify_access_key(
        &self,
        token: &str,
    ) -> Result<(access_key::Model, agent::Model), ApiError> {
        let invalid = ApiError::invalid_credentials;
        if !token.starts_with(TOKEN_PREFIX) || token.len() > MAX_TOKEN_LEN {
            return Err(invalid());
        }
        let key = access_keys::find_by_hash(&self.db, &digest(token))
            .await
            .map_err(db_error)?
            .ok_or_else(invalid)?;
        if key.tm_expire.is_some_and(|at| at <= time::now()) {
            return Err(invalid());
        }
        let agent = agents::find(&self.db, key.customer_id, key.agent_id)
            .await
            .map_err(db_error)?
            .ok_or_else(invalid)?;
        Ok((key, agent))
    }

    /// Whether each of `ids` still works (live, unexpired, its agent live), in order.
    pub async fn access_key_states(&self, ids: &[Uuid]) -> Result<Vec<AccessKeyState>, ApiError> {
        if ids.len() > MAX_STATES {
            return Err(ApiError::of(
                Reason::TooManyIds,
                format!("At most {MAX_STATES} access keys' states at once."),
            ));
        }
        let live = access_keys::live_among(&self.db, ids, time::now())
            .await
            .map_err(db_error)?;
        let owners: Vec<AgentId> = live.iter().map(|(_, agent)| *agent).collect();
        let live_agents: Vec<AgentId> = agents::token_versions(&self.db, &owners)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|(agent, _)| agent)
            .collect();
        Ok(ids
            .iter()
            .map(|id| AccessKeyState {
                access_key_id: id.to_string(),
                active: live
                    .iter()
                    .any(|(key, agent)| key == id && live_agents.contains(agent)),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_long() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + TOKEN_RANDOM_CHARS);
        assert!(a[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn expiries() {
        let now = time::now();
        assert_eq!(expiry(None, None, now).unwrap(), None);
        assert_eq!(
            expiry(Some(60), None, now).unwrap(),
            Some(now + chrono::Duration::seconds(60))
        );
        for bad in [0, -1, MAX_EXPIRE_SECS + 1] {
            assert_eq!(
                expiry(Some(bad), None, now).unwrap_err().reason,
                "INVALID_EXPIRE"
            );
        }
        let past = time::to_micros(&now) - 1;
        assert!(expiry(None, Some(past), now).is_err());
        assert!(expiry(Some(60), Some(time::to_micros(&now) + 60), now).is_err());
        let soon = time::to_micros(&now) + 1_000_000;
        assert!(expiry(None, Some(soon), now).unwrap().is_some());
    }
}
