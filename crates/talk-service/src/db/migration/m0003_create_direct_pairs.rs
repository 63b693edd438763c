//! Creates `direct_pairs`.

use sea_orm_migration::prelude::*;

/// Creates the `direct_pairs` table: its primary key de-duplicates direct talks.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_talk_service_create_direct_pairs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("direct_pairs")
                    .if_not_exists()
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("agent_low").uuid().not_null())
                    .col(ColumnDef::new("agent_high").uuid().not_null())
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .primary_key(
                        Index::create()
                            .col("customer_id")
                            .col("agent_low")
                            .col("agent_high"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("direct_pairs").to_owned())
            .await
    }
}
