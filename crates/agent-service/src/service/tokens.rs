//! Revoking tokens: logout, one's own password change, and the token
//! versions the edge and the gateway check tokens against.

use std::collections::HashMap;

use talk_proto::{TokenState, WriteOptions};
use talk_store::db_error;
use talk_store::idempotency::{Operation, Scope};
use talk_types::{AgentId, ApiError, Reason, time};

use super::{Agents, Caller, not_found, password, validate};
use crate::db::queries::agents::{self, Changes};
use crate::wire;

/// Most agents one `TokenStates` call may name.
pub const MAX_TOKEN_STATES: usize = 1_000;

impl Agents {
    /// Revokes every token of the caller.
    pub async fn logout(&self, caller: &Caller) -> Result<(), ApiError> {
        let revoke = Changes {
            revoke: true,
            ..Changes::default()
        };
        agents::update(
            &self.db,
            caller.customer_id,
            caller.agent_id,
            revoke,
            time::now(),
        )
        .await
        .map_err(db_error)?;
        tracing::info!(agent_id = %caller.agent_id, "logout: tokens revoked");
        Ok(())
    }

    /// Sets the caller's password after checking its current one (a wrong
    /// one is 401, as a login); revokes the caller's tokens, the one this
    /// request carries included.
    pub async fn change_password(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        current: String,
        new: String,
    ) -> Result<talk_proto::Agent, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::ChangePassword, caller.agent_id);
        if let Some(replay) = self.writes.recorded(&scope, options).await? {
            return Ok(replay);
        }
        if current.is_empty() {
            return Err(validate::missing("current_password"));
        }
        validate::password(&new)?;
        let row = agents::find(&self.db, caller.customer_id, caller.agent_id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)?;
        let phc = Some(row.password_hash.clone()).filter(|h| !h.is_empty());
        if !password::verify(current, phc).await? {
            return Err(ApiError::invalid_credentials());
        }
        let password_hash = password::hash(new).await?;
        let (write, mut row) = match self
            .begin_on(caller, &scope, caller.agent_id, options)
            .await?
        {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        let now = time::now();
        let changes = Changes {
            password_hash: Some(password_hash.clone()),
            revoke: true,
            ..Changes::default()
        };
        agents::update(
            write.txn(),
            caller.customer_id,
            caller.agent_id,
            changes,
            now,
        )
        .await
        .map_err(db_error)?;
        row.password_hash = password_hash;
        row.tm_update = now;
        row.token_version += 1;
        let agent = wire::agent(&row);
        write.commit(&agent).await?;
        tracing::info!(agent_id = %caller.agent_id, "password changed: tokens revoked");
        Ok(agent)
    }

    /// The token version of each of `ids`, in order; an unknown or deleted
    /// agent is not active (every token of it is refused).
    pub async fn token_states(&self, ids: &[AgentId]) -> Result<Vec<TokenState>, ApiError> {
        if ids.len() > MAX_TOKEN_STATES {
            return Err(ApiError::of(
                Reason::TooManyIds,
                format!("At most {MAX_TOKEN_STATES} agents' token states at once."),
            ));
        }
        let versions: HashMap<AgentId, i64> = agents::token_versions(&self.db, ids)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        Ok(ids
            .iter()
            .map(|id| {
                let version = versions.get(id);
                TokenState {
                    agent_id: id.to_string(),
                    version: version.map_or(0, |v| u64::try_from(*v).unwrap_or(0)),
                    active: version.is_some(),
                }
            })
            .collect())
    }
}
