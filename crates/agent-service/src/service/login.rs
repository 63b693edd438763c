//! Login by username and password.

use talk_store::db_error;
use talk_types::ApiError;

use super::{Agents, password, validate};
use crate::db::entities::agent;
use crate::db::queries::agents;
use crate::wire;

impl Agents {
    /// Checks the credentials of a live agent and issues a token for it.
    /// Unknown users, wrong passwords and deleted agents look the same: 401.
    pub async fn login(
        &self,
        username: &str,
        password: String,
    ) -> Result<(String, agent::Model), ApiError> {
        if username.is_empty() {
            return Err(validate::missing("username"));
        }
        if password.is_empty() {
            return Err(validate::missing("password"));
        }
        let row = agents::find_login(&self.db, username)
            .await
            .map_err(db_error)?;
        let phc = row.as_ref().map(|r| r.password_hash.clone());
        if !password::verify(password, phc).await? {
            tracing::info!(username, "login refused");
            return Err(ApiError::invalid_credentials());
        }
        let row = row.ok_or_else(ApiError::invalid_credentials)?;
        let version = u64::try_from(row.token_version).unwrap_or(0);
        let token = self.tokens.issue_at(wire::claim(&row), version)?;
        tracing::info!(agent_id = %row.id, "login");
        Ok((token, row))
    }
}
