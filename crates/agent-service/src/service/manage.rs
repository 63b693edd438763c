//! Writes: create, update and soft-delete agents. Each is one transaction:
//! claim the idempotency key, check the rules, write, record the response, commit.

use talk_auth::{PERMISSION_AGENT, PERMISSION_SUPER_ADMIN};
use talk_proto::WriteOptions;
use talk_store::db_error;
use talk_store::idempotency::{Operation, Scope};
use talk_store::{Begun, Write};
use talk_types::{AgentId, ApiError, Reason, time};

use super::{Agents, Caller, is_unique_violation, not_found, password, validate};
use crate::db::entities::agent;
use crate::db::queries::access_keys;
use crate::db::queries::agents::{self, Changes};
use crate::wire;

/// Default ring method of a new agent.
pub const DEFAULT_RING_METHOD: &str = "ringall";
/// Default status of a new agent.
pub const DEFAULT_STATUS: &str = "available";

/// A new agent as the caller asked for it.
pub struct NewAgent {
    /// Login name.
    pub username: String,
    /// Plain password; hashed before it is stored. Empty: an agent without
    /// one (a bot), which never logs in and works with access keys.
    pub password: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Permission bitmask; 0 means agent (16).
    pub permission: u32,
}

/// Changes to an agent; `None` leaves a field as it is.
pub struct AgentUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New detail.
    pub detail: Option<String>,
    /// New plain password.
    pub password: Option<String>,
    /// New permission bitmask (admins only).
    pub permission: Option<u32>,
    /// New ring method (`ringall` or `linear`).
    pub ring_method: Option<String>,
    /// New status (VoIPBIN's, [`crate::service::validate::STATUSES`]).
    pub status: Option<String>,
}

impl Agents {
    /// Creates an agent in the caller's customer (admins only).
    pub async fn create(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        new: NewAgent,
    ) -> Result<talk_proto::Agent, ApiError> {
        if !caller.is_admin() {
            return Err(ApiError::permission_denied());
        }
        let scope = Scope::new(caller.agent_id, Operation::CreateAgent, caller.agent_id);
        if let Some(replay) = self.writes.recorded(&scope, options).await? {
            return Ok(replay);
        }
        let NewAgent {
            username,
            password,
            name,
            detail,
            permission,
        } = new;
        validate::username(&username)?;
        if !password.is_empty() {
            validate::password(&password)?;
        }
        validate::name(&name)?;
        validate::detail(&detail)?;
        let permission = if permission == 0 {
            PERMISSION_AGENT
        } else {
            permission
        };
        validate::permission(permission)?;
        grantable(caller, permission)?;
        let password_hash = if password.is_empty() {
            String::new()
        } else {
            password::hash(password).await?
        };

        let write = match self.writes.begin(&scope, options).await? {
            Begun::Replay(agent) => return Ok(agent),
            Begun::Fresh(write) => write,
        };
        let now = time::now();
        let row = agent::Model {
            id: AgentId::new().0,
            customer_id: caller.customer_id,
            username,
            password_hash,
            name,
            detail,
            ring_method: DEFAULT_RING_METHOD.to_owned(),
            status: DEFAULT_STATUS.to_owned(),
            permission: i64::from(permission),
            tm_create: now,
            tm_update: now,
            tm_delete: None,
            token_version: 0,
        };
        let row = agents::insert(write.txn(), row).await.map_err(|e| {
            if is_unique_violation(&e) {
                username_taken()
            } else {
                db_error(e)
            }
        })?;
        let agent = wire::agent(&row);
        write.commit(&agent).await?;
        tracing::info!(agent_id = %row.id, by = %caller.agent_id, "agent created");
        Ok(agent)
    }

    /// Updates an agent: admins any agent of their customer, an agent its own
    /// name, detail, ring method and password.
    pub async fn update(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: AgentId,
        update: AgentUpdate,
    ) -> Result<talk_proto::Agent, ApiError> {
        let AgentUpdate {
            name,
            detail,
            password,
            permission,
            ring_method,
            status,
        } = update;
        if !caller.is_admin() && (id != caller.agent_id || permission.is_some()) {
            return Err(ApiError::permission_denied());
        }
        let scope = Scope::new(caller.agent_id, Operation::UpdateAgent, id);
        if let Some(replay) = self.writes.recorded(&scope, options).await? {
            return Ok(replay);
        }
        if let Some(name) = &name {
            validate::name(name)?;
        }
        if let Some(detail) = &detail {
            validate::detail(detail)?;
        }
        if let Some(ring_method) = &ring_method {
            validate::ring_method(ring_method)?;
        }
        if let Some(status) = &status {
            validate::status(status)?;
        }
        if let Some(password) = &password {
            validate::password(password)?;
        }
        if let Some(permission) = permission {
            validate::permission(permission)?;
            grantable(caller, permission)?;
        }
        let password_hash = match password {
            Some(password) => Some(password::hash(password).await?),
            None => None,
        };

        let (write, mut row) = match self.begin_on(caller, &scope, id, options).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        let now = time::now();
        // A new password or permission revokes the agent's tokens: their
        // claims would be stale.
        let revoke =
            password_hash.is_some() || permission.is_some_and(|p| i64::from(p) != row.permission);
        let changes = Changes {
            name: name.clone(),
            detail: detail.clone(),
            password_hash: password_hash.clone(),
            permission,
            ring_method: ring_method.clone(),
            status: status.clone(),
            revoke,
        };
        agents::update(write.txn(), caller.customer_id, id, changes, now)
            .await
            .map_err(db_error)?;
        if let Some(name) = name {
            row.name = name;
        }
        if let Some(detail) = detail {
            row.detail = detail;
        }
        if let Some(ring_method) = ring_method {
            row.ring_method = ring_method;
        }
        if let Some(status) = status {
            row.status = status;
        }
        if let Some(hash) = password_hash {
            row.password_hash = hash;
        }
        if let Some(permission) = permission {
            row.permission = i64::from(permission);
        }
        row.tm_update = now;
        let agent = wire::agent(&row);
        write.commit(&agent).await?;
        tracing::info!(agent_id = %id, by = %caller.agent_id, "agent updated");
        Ok(agent)
    }

    /// Soft-deletes an agent of the caller's customer (admins only, never oneself).
    pub async fn delete(
        &self,
        caller: &Caller,
        options: Option<&WriteOptions>,
        id: AgentId,
    ) -> Result<talk_proto::Agent, ApiError> {
        if !caller.is_admin() {
            return Err(ApiError::permission_denied());
        }
        if id == caller.agent_id {
            return Err(ApiError::of(
                Reason::CannotDeleteSelf,
                "An agent cannot delete itself.",
            ));
        }
        let scope = Scope::new(caller.agent_id, Operation::DeleteAgent, id);
        let (write, mut row) = match self.begin_on(caller, &scope, id, options).await? {
            Ok(begun) => begun,
            Err(replay) => return Ok(replay),
        };
        let now = time::now();
        agents::soft_delete(write.txn(), caller.customer_id, id, now)
            .await
            .map_err(db_error)?;
        access_keys::delete_of_agent(write.txn(), caller.customer_id, id, now)
            .await
            .map_err(db_error)?;
        row.tm_update = now;
        row.tm_delete = Some(now);
        let agent = wire::agent(&row);
        write.commit(&agent).await?;
        tracing::info!(agent_id = %id, by = %caller.agent_id, "agent deleted");
        Ok(agent)
    }
}

impl Agents {
    /// Opens a write of agent `id` under `scope`: claims the key (a retry
    /// gets the first answer instead), locks the live agent and checks that
    /// the caller may change it.
    pub(super) async fn begin_on(
        &self,
        caller: &Caller,
        scope: &Scope,
        id: AgentId,
        options: Option<&WriteOptions>,
    ) -> Result<Result<(Write, agent::Model), talk_proto::Agent>, ApiError> {
        let write = match self.writes.begin(scope, options).await? {
            Begun::Replay(agent) => return Ok(Err(agent)),
            Begun::Fresh(write) => write,
        };
        let row = agents::find_for_update(write.txn(), caller.customer_id, id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)?;
        guard_super_admin(caller, &row)?;
        Ok(Ok((write, row)))
    }
}

/// Only a super admin grants the super admin bit.
fn grantable(caller: &Caller, permission: u32) -> Result<(), ApiError> {
    if permission & PERMISSION_SUPER_ADMIN != 0 && !caller.is_super_admin() {
        return Err(ApiError::permission_denied());
    }
    Ok(())
}

/// Only a super admin changes or deletes a super admin.
fn guard_super_admin(caller: &Caller, target: &agent::Model) -> Result<(), ApiError> {
    if target.permission_bits() & PERMISSION_SUPER_ADMIN != 0 && !caller.is_super_admin() {
        return Err(ApiError::permission_denied());
    }
    Ok(())
}

/// 409 ALREADY_EXISTS / USERNAME_TAKEN.
pub fn username_taken() -> ApiError {
    ApiError::of(Reason::UsernameTaken, "The username is already taken.")
}
