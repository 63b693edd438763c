//! Creates `files` and `attachments`.

use sea_orm_migration::prelude::*;

/// file-service's tables.
pub struct CreateFiles;

impl MigrationName for CreateFiles {
    fn name(&self) -> &str {
        "m0001_file_service_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFiles {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let at = |name: &'static str| ColumnDef::new(name).timestamp_with_time_zone().to_owned();
        let text = |name: &'static str| ColumnDef::new(name).text().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table("files")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("owner_id").uuid().not_null())
                    .col(ColumnDef::new("kind").string_len(32).not_null())
                    .col(text("name"))
                    .col(text("detail"))
                    .col(text("filename"))
                    .col(ColumnDef::new("filesize").big_integer().not_null())
                    .col(text("mime_type"))
                    .col(text("declared_mime_type"))
                    .col(text("sha256"))
                    .col(text("storage_key"))
                    .col(ColumnDef::new("thumbnail_key").text().null())
                    .col(ColumnDef::new("state").string_len(16).not_null())
                    .col(at("tm_create").not_null())
                    .col(at("tm_update").not_null())
                    .col(at("tm_delete").null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_files_customer_created")
                    .table("files")
                    .col("customer_id")
                    .col("tm_create")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .if_not_exists()
                    .col(ColumnDef::new("file_id").uuid().not_null())
                    .col(ColumnDef::new("talk_id").uuid().not_null())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(at("tm_create").not_null())
                    .primary_key(Index::create().col("file_id").col("talk_id"))
                    .to_owned(),
            )
            .await
    }
}
