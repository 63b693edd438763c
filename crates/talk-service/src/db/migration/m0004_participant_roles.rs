//! Adds `participants.role`.

use sea_orm_migration::prelude::*;

/// Adds the `role` of a participant (owner | moderator | member). Before it,
/// every participant could rename, close, reopen and delete a talk and remove
/// others: the active participants of existing talks become moderators, so
/// they keep what they could do (a creator was not recorded).
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_talk_service_participant_roles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("participants")
                    .add_column(
                        ColumnDef::new("role")
                            .string_len(16)
                            .not_null()
                            .default("member"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE participants SET role = 'moderator' WHERE state = 'active'")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("participants")
                    .drop_column("role")
                    .to_owned(),
            )
            .await
    }
}
