//! webhook-service's migrator.

mod m0001_webhooks;
mod m0002_agents_and_order;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of webhook-service, in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_webhooks::CreateWebhooks),
            Box::new(m0002_agents_and_order::AgentsAndOrder),
            Box::new(talk_store::migration::CreateIdempotency),
        ]
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
