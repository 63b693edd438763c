//! Mentions: each message keeps its structured list (`messages.mentions`,
//! JSON, as the wire shows it), and `mentions` has one row per (message,
//! agent mentioned) for counting and listing an agent's mentions. Both are
//! written with the message, in its statement or transaction.

use sea_orm_migration::prelude::*;

/// Adds `messages.mentions` and the `mentions` table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_09_message_mentions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("messages")
                    .add_column_if_not_exists(
                        ColumnDef::new("mentions").text().not_null().default("[]"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mentions")
                    .if_not_exists()
                    .col(ColumnDef::new("message_id").uuid().not_null())
                    .col(ColumnDef::new("agent_id").uuid().not_null())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .col(ColumnDef::new("seq").big_integer().not_null())
                    .col(
                        ColumnDef::new("tm_create")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col("message_id").col("agent_id"))
                    .to_owned(),
            )
            .await?;
        // Counting a talk's unread mentions of an agent.
        manager
            .create_index(
                Index::create()
                    .name("ix_mentions_talk_agent_seq")
                    .table("mentions")
                    .col("talk_id")
                    .col("agent_id")
                    .col("seq")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // An agent's mentions, newest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_mentions_agent_time")
                    .table("mentions")
                    .col("customer_id")
                    .col("agent_id")
                    .col("tm_create")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("mentions").to_owned())
            .await
    }
}
