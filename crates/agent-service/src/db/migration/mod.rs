//! agent-service's migrator: the shared `talk-store` tables first, then ours.

mod m0001_customers;
mod m0002_agents;
mod m0003_token_version;
mod m0004_refresh_tokens;
mod m0005_access_keys;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of agent-service, in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = talk_store::migration::shared();
        all.push(Box::new(m0001_customers::CreateCustomers));
        all.push(Box::new(m0002_agents::CreateAgents));
        all.push(Box::new(m0003_token_version::AddTokenVersion));
        all.push(Box::new(m0004_refresh_tokens::CreateRefreshTokens));
        all.push(Box::new(m0005_access_keys::CreateAccessKeys));
        all
    }
}

/// Applies pending migrations. On PostgreSQL they run in one transaction that
/// holds an advisory lock, so instances starting together migrate one at a time.
pub async fn run(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_unprepared(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.migrate'))",
    )
    .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}
