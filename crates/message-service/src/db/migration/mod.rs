//! message-service's migrator: the shared `talk-store` tables first, then ours.

mod m0001_messages;
mod m0002_talk_counters;
mod m0003_reactions;
mod m0004_edits;
mod m0005_read_states;
mod m0006_consumer;
mod m0007_reaction_emoji;
mod m0008_search;
mod m0009_mentions;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

/// Every migration of message-service, in order.
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = talk_store::migration::shared();
        all.push(Box::new(m0001_messages::CreateMessages));
        all.push(Box::new(m0002_talk_counters::CreateTalkCounters));
        all.push(Box::new(m0003_reactions::CreateReactions));
        all.push(Box::new(m0004_edits::CreateEdits));
        all.push(Box::new(m0005_read_states::CreateReadStates));
        all.push(Box::new(m0006_consumer::CreateConsumerTables));
        all.push(Box::new(m0007_reaction_emoji::Migration));
        all.push(Box::new(m0008_search::Migration));
        all.push(Box::new(m0009_mentions::Migration));
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
