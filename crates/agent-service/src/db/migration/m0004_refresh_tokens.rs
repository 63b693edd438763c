//! Creates `refresh_tokens`.

use sea_orm_migration::prelude::*;

/// Creates the `refresh_tokens` table: one row per refresh token issued,
/// holding a hash of its secret, never the secret.
pub struct CreateRefreshTokens;

impl MigrationName for CreateRefreshTokens {
    fn name(&self) -> &str {
        "m0004_agent_service_refresh_tokens"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRefreshTokens {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let at = |name: &'static str| ColumnDef::new(name).timestamp_with_time_zone().to_owned();
        manager
            .create_table(
                Table::create()
                    .table("refresh_tokens")
                    .if_not_exists()
                    .col(ColumnDef::new("id").uuid().not_null().primary_key())
                    .col(ColumnDef::new("agent_id").uuid().not_null())
                    .col(ColumnDef::new("customer_id").uuid().not_null())
                    .col(ColumnDef::new("secret_hash").string_len(64).not_null())
                    .col(ColumnDef::new("token_version").big_integer().not_null())
                    .col(at("tm_create").not_null())
                    .col(at("tm_expire").not_null())
                    .col(at("tm_used").null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_agent")
                            .from("refresh_tokens", "agent_id")
                            .to("agents", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // The hourly purge finds expired and long-used tokens by these.
        for column in ["tm_expire", "tm_used"] {
            manager
                .create_index(
                    Index::create()
                        .name(format!("ix_refresh_tokens_{column}"))
                        .table("refresh_tokens")
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("refresh_tokens").to_owned())
            .await
    }
}
