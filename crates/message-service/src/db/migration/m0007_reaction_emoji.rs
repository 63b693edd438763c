//! Rewrites stored reactions to their canonical emoji.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sea_orm_migration::prelude::*;

use crate::db::entities::reaction::{Column, Entity, Model};
use crate::db::queries::reactions;
use crate::service::emoji;

/// Rows read at a time.
const BATCH: u64 = 1_000;

/// Before it, reactions were stored as sent: `:thumbsup:` and `👍` (or `❤`
/// and `❤️`) were two reactions. Each row now holds the canonical emoji; a
/// row whose agent also has the canonical spelling is dropped (one reaction
/// stays). Values no table knows are left as they are.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_07_message_reaction_emoji"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut after = 0i64;
        loop {
            let rows = Entity::find()
                .filter(Column::Id.gt(after))
                .order_by_asc(Column::Id)
                .limit(BATCH)
                .all(db)
                .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.id;
            for row in rows {
                canonicalize(db, row).await?;
            }
        }
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// Rewrites one row to its canonical emoji, or drops it when its agent
/// already has that reaction.
async fn canonicalize<C: ConnectionTrait>(db: &C, row: Model) -> Result<(), DbErr> {
    let Ok(canonical) = emoji::normalize(&row.emoji) else {
        return Ok(());
    };
    if canonical == row.emoji {
        return Ok(());
    }
    if reactions::exists(db, row.message_id, row.owner_id, &canonical).await? {
        Entity::delete_by_id(row.id).exec(db).await?;
    } else {
        Entity::update_many()
            .col_expr(Column::Emoji, Expr::value(canonical))
            .filter(Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(())
}
