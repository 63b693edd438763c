//! First start: a default customer and its `admin` agent.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, TransactionTrait};
use talk_auth::{PERMISSION_ADMIN, PERMISSION_AGENT};
use talk_store::db_error;
use talk_types::{AgentId, ApiError, CustomerId, time};

use super::manage::{DEFAULT_RING_METHOD, DEFAULT_STATUS};
use super::{is_unique_violation, password};
use crate::db::entities::agent;
use crate::db::queries::{agents, customers};

/// Username of the agent created on first start.
pub const ADMIN_USERNAME: &str = "admin";
const DEFAULT_CUSTOMER_NAME: &str = "Default";

/// What bootstrap did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The database already had a customer: nothing was written.
    AlreadyDone,
    /// Created the admin with the configured password.
    Created,
    /// Created the admin with this generated password (to show once).
    CreatedWithGenerated(String),
}

/// Creates the default customer and `admin` (admin and agent) when the
/// database has no customer yet. Instances starting together are safe: on
/// PostgreSQL they serialise on an advisory lock, and a unique violation on
/// the username means another instance won.
pub async fn run(db: &DatabaseConnection, admin_password: &str) -> Result<Outcome, ApiError> {
    if customers::count(db).await.map_err(db_error)? > 0 {
        return Ok(Outcome::AlreadyDone);
    }
    let (password, generated) = if admin_password.is_empty() {
        (password::generate(), true)
    } else {
        (admin_password.to_owned(), false)
    };
    let password_hash = password::hash(password.clone()).await?;

    let txn = db.begin().await.map_err(db_error)?;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_unprepared(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.bootstrap'))",
        )
        .await
        .map_err(db_error)?;
    }
    if customers::count(&txn).await.map_err(db_error)? > 0 {
        return Ok(Outcome::AlreadyDone);
    }
    let now = time::now();
    let customer_id = CustomerId::new();
    customers::insert(&txn, customer_id, DEFAULT_CUSTOMER_NAME, now)
        .await
        .map_err(db_error)?;
    let admin = agent::Model {
        id: AgentId::new().0,
        customer_id,
        username: ADMIN_USERNAME.to_owned(),
        password_hash,
        name: "Administrator".to_owned(),
        detail: String::new(),
        ring_method: DEFAULT_RING_METHOD.to_owned(),
        status: DEFAULT_STATUS.to_owned(),
        permission: i64::from(PERMISSION_AGENT | PERMISSION_ADMIN),
        tm_create: now,
        tm_update: now,
        tm_delete: None,
        token_version: 0,
    };
    match agents::insert(&txn, admin).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(Outcome::AlreadyDone),
        Err(e) => return Err(db_error(e)),
    }
    match txn.commit().await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => return Ok(Outcome::AlreadyDone),
        Err(e) => return Err(db_error(e)),
    }
    tracing::info!(%customer_id, "created the default customer and its admin agent");
    Ok(if generated {
        Outcome::CreatedWithGenerated(password)
    } else {
        Outcome::Created
    })
}

/// Prints the generated password once, in a banner a person will notice.
pub fn announce(password: &str) {
    let line = format!(
        "Talk: created admin agent '{ADMIN_USERNAME}' with password: {password} — change it"
    );
    let rule = "=".repeat(line.chars().count());
    println!("\n{rule}\n{line}\n{rule}\n");
}
