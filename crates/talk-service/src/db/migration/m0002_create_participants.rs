//! Creates `participants`.

use sea_orm_migration::prelude::*;

/// Creates the `participants` table; at most one active record per owner and talk.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_talk_service_create_participants"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("participants")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .col(ColumnDef::new("owner_type").string_len(32).not_null())
                    .col(ColumnDef::new("owner_id").uuid().not_null())
                    .col(ColumnDef::new("state").string_len(16).not_null())
                    .col(
                        ColumnDef::new("tm_joined")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("tm_left").timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // A partial unique index: the same syntax works on PostgreSQL and SQLite.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS participants_one_active \
                 ON participants (talk_id, owner_type, owner_id) WHERE state = 'active'",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("participants_owner")
                    .table("participants")
                    .if_not_exists()
                    .col("owner_id")
                    .col("state")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("participants_talk")
                    .table("participants")
                    .if_not_exists()
                    .col("talk_id")
                    .col("state")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("participants").to_owned())
            .await
    }
}
