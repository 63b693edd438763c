//! Creates `customers`.

use sea_orm_migration::prelude::*;

/// Creates the `customers` table.
pub struct CreateCustomers;

impl MigrationName for CreateCustomers {
    fn name(&self) -> &str {
        "m0001_01_agent_customers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCustomers {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customers")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("name").string().not_null())
                    .col(
                        ColumnDef::new("tm_create")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("customers").to_owned())
            .await
    }
}
