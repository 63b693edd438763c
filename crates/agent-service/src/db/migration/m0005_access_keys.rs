//! Creates `access_keys`.

use sea_orm_migration::prelude::*;

/// Creates the `access_keys` table: one row per access key, holding a
/// SHA-256 of its token, never the token.
pub struct CreateAccessKeys;

impl MigrationName for CreateAccessKeys {
    fn name(&self) -> &str {
        "m0005_agent_service_access_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAccessKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let at = |name: &'static str| ColumnDef::new(name).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table("access_keys")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("agent_id").uuid().not_null())
                    .col(ColumnDef::new("name").string_len(255).not_null())
                    .col(ColumnDef::new("detail").text().not_null())
                    .col(ColumnDef::new("token_hash").string_len(64).not_null())
                    .col(ColumnDef::new("token_prefix").string_len(16).not_null())
                    .col(at("tm_expire").null())
                    .col(at("tm_create").not_null())
                    .col(at("tm_update").not_null())
                    .col(at("tm_delete").null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_keys_agent")
                            .from("access_keys", "agent_id")
                            .to("agents", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // Every request with a key looks it up by its hash.
        manager
            .create_index(
                Index::create()
                    .name("ux_access_keys_token_hash")
                    .table("access_keys")
                    .col("token_hash")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Listings: a customer's keys, an agent's keys, newest first.
        for (name, column) in [
            ("ix_access_keys_customer", "customer_id"),
            ("ix_access_keys_agent", "agent_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("access_keys")
                        .col(column)
                        .col("tm_create")
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("access_keys").to_owned())
            .await
    }
}
