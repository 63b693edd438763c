//! Archiving inactive talks: `talks.tm_activity` and `talks.close_reason`,
//! `customer_settings`, and `consumer_cursors`.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use talk_types::time;

/// Adds what archiving inactive talks needs:
///
/// - `talks.tm_activity`, a talk's last activity. Existing talks start at
///   the upgrade: talk-service never saw their messages, and a talk active
///   yesterday must not look idle since its creation (it would be archived
///   by the first sweep). So after an upgrade nothing is archived before
///   the customer's number of days has passed.
/// - `talks.close_reason` (none for the talks closed before it).
/// - an index for the sweep: a customer's open talks by last activity.
/// - `customer_settings` (no row: the defaults, archiving off).
/// - `consumer_cursors`, where the consumer that keeps `tm_activity` from
///   the bus resumes.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_talk_service_archive"
    }
}

/// `ALTER TABLE talks ADD COLUMN <column>` (one per statement: SQLite
/// alters one column at a time).
async fn add_column(manager: &SchemaManager<'_>, column: &mut ColumnDef) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table("talks").add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A constant default so that SQLite can add a NOT NULL column; every
        // row gets its real value at once.
        add_column(
            manager,
            ColumnDef::new("tm_activity")
                .timestamp_with_time_zone()
                .not_null()
                .default("1970-01-01T00:00:00Z"),
        )
        .await?;
        let db = manager.get_connection();
        let backfill = Query::update()
            .table("talks")
            .value("tm_activity", time::now())
            .to_owned();
        db.execute(&backfill).await?;
        add_column(
            manager,
            ColumnDef::new("close_reason").string_len(16).null(),
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("talks_customer_state_activity")
                    .table("talks")
                    .if_not_exists()
                    .col("customer_id")
                    .col("state")
                    .col("tm_activity")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("customer_settings")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("customer_id")
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("archive_inactive_days").integer().null())
                    .col(
                        ColumnDef::new("tm_update")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_table(talk_store::cursors::table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["consumer_cursors", "customer_settings"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("talks_customer_state_activity")
                    .table("talks")
                    .to_owned(),
            )
            .await?;
        for column in ["close_reason", "tm_activity"] {
            manager
                .alter_table(Table::alter().table("talks").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
    use sea_orm_migration::prelude::*;
    use talk_types::time;

    use crate::db::entities::talk;
    use crate::db::migration::Migrator;

    /// A talk from before the upgrade starts with the upgrade as its last
    /// activity (not its creation, not the column's placeholder default),
    /// and is open with no close reason.
    async fn existing_talks_start_at_the_upgrade(db: &DatabaseConnection) {
        let before = Migrator::migrations().len() as u32 - 1;
        Migrator::up(db, Some(before)).await.unwrap();
        let id = uuid::Uuid::now_v7();
        let created = time::now() - chrono::Duration::days(400);
        // Bound values, encoded as sea-orm encodes them on each backend.
        let insert = Query::insert()
            .into_table("talks")
            .columns([
                "id",
                "customer_id",
                "type",
                "name",
                "detail",
                "state",
                "member_count",
                "tm_create",
                "tm_update",
            ])
            .values_panic([
                id.into(),
                uuid::Uuid::now_v7().into(),
                "group".into(),
                "".into(),
                "".into(),
                "active".into(),
                1.into(),
                created.into(),
                created.into(),
            ])
            .to_owned();
        db.execute(&insert).await.unwrap();
        let upgraded = time::now();
        Migrator::up(db, None).await.unwrap();
        let row = talk::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
        assert!(row.tm_activity >= upgraded, "{row:?}");
        assert_eq!(row.close_reason, None);
    }

    #[tokio::test]
    async fn on_postgres() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_m0006");
        let db = talk_store::connect(&url, &schema, 2).await.unwrap();
        existing_talks_start_at_the_upgrade(&db).await;
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn on_sqlite() {
        let dir = std::env::temp_dir().join(format!("talk-m0006-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/talk.db?mode=rwc", dir.display());
        let db = talk_store::connect(&url, "talk", 1).await.unwrap();
        existing_talks_start_at_the_upgrade(&db).await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
