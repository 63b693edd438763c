//! Creates `consumed_events` and `consumer_cursors` for the bus consumer that
//! writes system messages exactly once.

use sea_orm_migration::prelude::*;

/// Creates the consumer's tables.
pub struct CreateConsumerTables;

impl MigrationName for CreateConsumerTables {
    fn name(&self) -> &str {
        "m0003_06_message_consumer"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateConsumerTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("consumed_events")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("event_id")
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new("tm_consumed")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_table(talk_store::cursors::table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("consumer_cursors").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("consumed_events").to_owned())
            .await
    }
}
