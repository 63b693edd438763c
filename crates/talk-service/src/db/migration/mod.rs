//! talk-service's migrations: the shared outbox and idempotency tables first,
//! then one migration per file.

use sea_orm_migration::prelude::*;

mod m0001_create_talks;
mod m0002_create_participants;
mod m0003_create_direct_pairs;
mod m0004_participant_roles;
mod m0005_customer_talks;
mod m0006_archive;

/// Runs talk-service's migrations.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = talk_store::migration::shared();
        all.push(Box::new(m0001_create_talks::Migration));
        all.push(Box::new(m0002_create_participants::Migration));
        all.push(Box::new(m0003_create_direct_pairs::Migration));
        all.push(Box::new(m0004_participant_roles::Migration));
        all.push(Box::new(m0005_customer_talks::Migration));
        all.push(Box::new(m0006_archive::Migration));
        all
    }
}
