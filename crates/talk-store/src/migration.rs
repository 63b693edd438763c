//! Tables every stateful service has: `outbox` and `idempotency` (with its
//! `created_at` index for the purge). Each service lists these migrations
//! first in its own migrator.

use sea_orm_migration::prelude::*;

/// Creates the `outbox` table.
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m0000_01_talk_store_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("event_id").string().not_null())
                    .col(ColumnDef::new("subject").string().not_null())
                    .col(ColumnDef::new("traceparent").string().not_null())
                    .col(ColumnDef::new("payload").blob().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("outbox").to_owned())
            .await
    }
}

/// Creates the `idempotency` table.
pub struct CreateIdempotency;

impl MigrationName for CreateIdempotency {
    fn name(&self) -> &str {
        "m0000_02_talk_store_idempotency"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateIdempotency {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("idempotency")
                    .if_not_exists()
                    .col(ColumnDef::new("scope").string().not_null())
                    .col(ColumnDef::new("key").string().not_null())
                    .col(ColumnDef::new("request_hash").string().not_null())
                    .col(ColumnDef::new("response").blob().null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col("scope").col("key"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("idempotency").to_owned())
            .await
    }
}

/// Indexes `idempotency` by `created_at`, so the purge of expired records
/// ([`crate::expiry::Purge`]) reads a range of the index, never the table.
pub struct IndexIdempotencyCreated;

impl MigrationName for IndexIdempotencyCreated {
    fn name(&self) -> &str {
        "m0000_03_talk_store_idempotency_created"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for IndexIdempotencyCreated {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_created")
                    .table("idempotency")
                    .col("created_at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_idempotency_created")
                    .table("idempotency")
                    .to_owned(),
            )
            .await
    }
}

/// The shared migrations, to put first in a service's migrator.
pub fn shared() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(CreateOutbox),
        Box::new(CreateIdempotency),
        Box::new(IndexIdempotencyCreated),
    ]
}
