//! Creates `read_states`: how far each agent has read each talk.

use sea_orm_migration::prelude::*;

/// Creates the `read_states` table.
pub struct CreateReadStates;

impl MigrationName for CreateReadStates {
    fn name(&self) -> &str {
        "m0003_05_message_read_states"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReadStates {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("read_states")
                    .if_not_exists()
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .col(ColumnDef::new("agent_id").uuid().not_null())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("last_read_seq").big_integer().not_null())
                    .primary_key(Index::create().col("talk_id").col("agent_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("read_states").to_owned())
            .await
    }
}
