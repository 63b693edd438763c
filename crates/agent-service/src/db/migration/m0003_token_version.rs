//! Adds `agents.token_version`.

use sea_orm_migration::prelude::*;

/// Adds the agent's token version: tokens carry the version they were issued
/// at and are refused once it moves (logout, password or permission change,
/// delete).
pub struct AddTokenVersion;

impl MigrationName for AddTokenVersion {
    fn name(&self) -> &str {
        "m0003_agent_service_token_version"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddTokenVersion {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("agents")
                    .add_column(
                        ColumnDef::new("token_version")
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
            .alter_table(
                Table::alter()
                    .table("agents")
                    .drop_column("token_version")
                    .to_owned(),
            )
            .await
    }
}
