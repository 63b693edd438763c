//! Creates `endpoints`, `deliveries` and `consumer_cursors` (talk-store's).

use sea_orm_migration::prelude::*;

/// webhook-service's tables.
pub struct CreateWebhooks;

impl MigrationName for CreateWebhooks {
    fn name(&self) -> &str {
        "m0001_webhook_service_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateWebhooks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let at = |name: &'static str| ColumnDef::new(name).timestamp_with_time_zone().to_owned();
        let text = |name: &'static str| ColumnDef::new(name).text().to_owned();
        manager
            .create_table(
                Table::create()
                    .table("endpoints")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(text("url").not_null())
                    .col(text("description").not_null())
                    .col(text("event_types").not_null())
                    .col(text("talk_ids").not_null())
                    .col(ColumnDef::new("naming").string_len(16).not_null())
                    .col(text("secret").not_null())
                    .col(text("previous_secret").null())
                    .col(at("tm_previous_secret_expire").null())
                    .col(ColumnDef::new("disabled_reason").string_len(16).null())
                    .col(ColumnDef::new("consecutive_failures").integer().not_null())
                    .col(at("tm_failing_since").null())
                    .col(at("tm_create").not_null())
                    .col(at("tm_update").not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_endpoints_customer")
                    .table("endpoints")
                    .col("customer_id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("deliveries")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("endpoint_id").uuid().not_null())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(text("message_id").not_null())
                    .col(text("event_type").not_null())
                    .col(ColumnDef::new("event_seq").big_integer().not_null())
                    .col(text("body").not_null())
                    .col(ColumnDef::new("status").string_len(16).not_null())
                    .col(ColumnDef::new("attempts").integer().not_null())
                    .col(at("tm_next_attempt").null())
                    .col(ColumnDef::new("response_status").integer().null())
                    .col(ColumnDef::new("latency_ms").integer().null())
                    .col(text("response_body").null())
                    .col(text("error").null())
                    .col(at("tm_create").not_null())
                    .col(at("tm_update").not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_endpoint")
                            .from("deliveries", "endpoint_id")
                            .to("endpoints", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The dispatcher finds due deliveries by the first, the log pages by the second.
        for (name, columns) in [
            ("ix_deliveries_due", ["status", "tm_next_attempt"]),
            ("ix_deliveries_endpoint", ["endpoint_id", "id"]),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("deliveries")
                        .col(columns[0])
                        .col(columns[1])
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        manager.create_table(talk_store::cursors::table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["deliveries", "endpoints", "consumer_cursors"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
