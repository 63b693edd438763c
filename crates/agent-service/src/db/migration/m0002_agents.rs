//! Creates `agents` with its indexes.

use sea_orm_migration::prelude::*;

/// Creates the `agents` table.
pub struct CreateAgents;

impl MigrationName for CreateAgents {
    fn name(&self) -> &str {
        "m0001_02_agent_agents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAgents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("agents")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("username").string_len(64).not_null())
                    .col(ColumnDef::new("password_hash").text().not_null())
                    .col(ColumnDef::new("name").string_len(255).not_null())
                    .col(ColumnDef::new("detail").text().not_null())
                    .col(
                        ColumnDef::new("ring_method")
                            .string()
                            .not_null()
                            .default("ringall"),
                    )
                    .col(
                        ColumnDef::new("status")
                            .string()
                            .not_null()
                            .default("available"),
                    )
                    .col(ColumnDef::new("permission").big_integer().not_null())
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
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agents_customer")
                            .from("agents", "customer_id")
                            .to("customers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // VoIPBIN logs in by username alone: unique among live agents of every
        // customer; a deleted agent's name can be taken again.
        manager
            .create_index(
                Index::create()
                    .name("ux_agents_username_live")
                    .table("agents")
                    .col("username")
                    .unique()
                    .and_where(Expr::col("tm_delete").is_null())
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_agents_customer_create")
                    .table("agents")
                    .col("customer_id")
                    .col("tm_create")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("agents").to_owned())
            .await
    }
}
