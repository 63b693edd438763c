//! file-service's migrator: the shared idempotency table, then its own.

mod m0001_files;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of file-service, in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(talk_store::migration::CreateIdempotency),
            Box::new(m0001_files::CreateFiles),
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
