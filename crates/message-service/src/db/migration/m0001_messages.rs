//! Creates `messages` with the indexes listings, threads and catch-up use.

use sea_orm_migration::prelude::*;

/// Creates the `messages` table.
pub struct CreateMessages;

impl MigrationName for CreateMessages {
    fn name(&self) -> &str {
        "m0003_01_message_messages"
    }
}

fn index(name: &str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table("messages").if_not_exists();
    for col in cols {
        index.col(*col);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateMessages {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("messages")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .col(ColumnDef::new("parent_id").uuid().null())
                    .col(ColumnDef::new("owner_type").string_len(32).not_null())
                    .col(ColumnDef::new("owner_id").uuid().not_null())
                    .col(ColumnDef::new("type").string_len(32).not_null())
                    .col(ColumnDef::new("text").text().not_null())
                    .col(ColumnDef::new("medias").text().not_null())
                    .col(ColumnDef::new("seq").big_integer().not_null())
                    .col(ColumnDef::new("change_seq").big_integer().not_null())
                    .col(
                        ColumnDef::new("reply_count")
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new("tm_create")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("tm_update")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("tm_delete")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // A talk's seq is unique: a second message with one seq fails instead of hiding.
        let mut unique_seq = index("ux_messages_talk_seq", &["talk_id", "seq"]);
        unique_seq.unique();
        manager.create_index(unique_seq).await?;
        manager
            .create_index(index("ix_messages_talk_change", &["talk_id", "change_seq"]))
            .await?;
        manager
            .create_index(index("ix_messages_talk_create", &["talk_id", "tm_create"]))
            .await?;
        manager
            .create_index(index("ix_messages_parent", &["parent_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("messages").to_owned())
            .await
    }
}
