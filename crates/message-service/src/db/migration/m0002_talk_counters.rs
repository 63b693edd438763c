//! Creates `talk_counters`: one row per talk, the lock that orders its writes.

use sea_orm_migration::prelude::*;

/// Creates the `talk_counters` table.
pub struct CreateTalkCounters;

impl MigrationName for CreateTalkCounters {
    fn name(&self) -> &str {
        "m0003_02_message_talk_counters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTalkCounters {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("talk_counters")
                    .if_not_exists()
                    .col(ColumnDef::new("talk_id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(
                        ColumnDef::new("last_seq")
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new("last_change")
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new("last_tm_create")
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("talk_counters").to_owned())
            .await
    }
}
