//! Endpoints of one agent (`agent_id`: a bot hears the talks it is in) and
//! in order (`ordered`: one delivery at a time, in bus order); `agent_talks`,
//! the talks each such agent is in, kept by the consumer; the index that
//! finds an ordered endpoint's next delivery.

use sea_orm_migration::prelude::*;

/// Adds `endpoints.agent_id`, `endpoints.ordered` and `agent_talks`.
pub struct AgentsAndOrder;

impl MigrationName for AgentsAndOrder {
    fn name(&self) -> &str {
        "m0002_webhook_agents_and_order"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AgentsAndOrder {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new("agent_id").uuid().null().to_owned(),
            ColumnDef::new("ordered")
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("endpoints")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // An ordered endpoint's next delivery: its first pending in bus order.
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_endpoint_order")
                    .table("deliveries")
                    .col("endpoint_id")
                    .col("status")
                    .col("event_seq")
                    .col("id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("agent_talks")
                    .if_not_exists()
                    .col(ColumnDef::new("agent_id").uuid().not_null())
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .primary_key(Index::create().col("agent_id").col("talk_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("agent_talks").to_owned())
            .await?;
        for column in ["ordered", "agent_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("endpoints")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
