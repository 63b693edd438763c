//! Creates `reactions`: one row per (message, agent, emoji).

use sea_orm_migration::prelude::*;

/// Creates the `reactions` table.
pub struct CreateReactions;

impl MigrationName for CreateReactions {
    fn name(&self) -> &str {
        "m0003_03_message_reactions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateReactions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("reactions")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("message_id").uuid().not_null())
                    .col(ColumnDef::new("owner_id").uuid().not_null())
                    .col(ColumnDef::new("emoji").string_len(128).not_null())
                    .col(
                        ColumnDef::new("tm_create")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reactions_message_owner_emoji")
                    .table("reactions")
                    .col("message_id")
                    .col("owner_id")
                    .col("emoji")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("reactions").to_owned())
            .await
    }
}
