//! Creates `edits`: the previous versions of edited messages.

use sea_orm_migration::prelude::*;

/// Creates the `edits` table.
pub struct CreateEdits;

impl MigrationName for CreateEdits {
    fn name(&self) -> &str {
        "m0003_04_message_edits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEdits {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("edits")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("message_id").uuid().not_null())
                    .col(ColumnDef::new("text").text().not_null())
                    .col(
                        ColumnDef::new("tm_edit")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_edits_message")
                    .table("edits")
                    .col("message_id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("edits").to_owned())
            .await
    }
}
