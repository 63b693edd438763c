//! Creates `customer_talks`.

use sea_orm_migration::prelude::*;

/// Creates the `customer_talks` table, the count of each customer's live
/// talks that the cap on talks per customer is checked against, and counts
/// the talks there are.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_talk_service_customer_talks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("customer_talks")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("customer_id")
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("live").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO customer_talks (customer_id, live) \
                 SELECT customer_id, COUNT(*) FROM talks WHERE tm_delete IS NULL \
                 GROUP BY customer_id \
                 ON CONFLICT (customer_id) DO NOTHING",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("customer_talks").to_owned())
            .await
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DatabaseConnection, EntityTrait, IntoActiveModel};
    use sea_orm_migration::prelude::*;
    use talk_types::{CustomerId, TalkId, time};

    use super::Migration;
    use crate::db::entities::customer_talks;
    use crate::db::entities::talk::{self, TalkState, TalkType};
    use crate::db::migration::Migrator;

    /// The upgrade counts each customer's talks that are not deleted, and
    /// running it again (a second replica) changes nothing.
    async fn counts_the_talks_there_are(db: &DatabaseConnection) {
        Migrator::up(db, None).await.unwrap();
        let (one, other) = (CustomerId::new(), CustomerId::new());
        for (customer, deleted) in [(one, false), (one, false), (one, true), (other, false)] {
            let now = time::now();
            let row = talk::Model {
                id: TalkId::new().0,
                customer_id: customer,
                kind: TalkType::Group,
                name: String::new(),
                detail: String::new(),
                state: TalkState::Active,
                member_count: 1,
                tm_create: now,
                tm_update: now,
                tm_delete: deleted.then_some(now),
                tm_activity: now,
                close_reason: None,
            };
            talk::Entity::insert(row.into_active_model())
                .exec_without_returning(db)
                .await
                .unwrap();
        }
        let manager = SchemaManager::new(db);
        Migration.down(&manager).await.unwrap();
        Migration.up(&manager).await.unwrap();
        Migration.up(&manager).await.unwrap();
        let live = |customer: CustomerId| async move {
            customer_talks::Entity::find_by_id(customer.0)
                .one(db)
                .await
                .unwrap()
                .map(|row| row.live)
        };
        assert_eq!(live(one).await, Some(2));
        assert_eq!(live(other).await, Some(1));
    }

    #[tokio::test]
    async fn on_postgres() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_m0005");
        let db = talk_store::connect(&url, &schema, 2).await.unwrap();
        counts_the_talks_there_are(&db).await;
        sea_orm::ConnectionTrait::execute_unprepared(
            &db,
            &format!("DROP SCHEMA \"{schema}\" CASCADE"),
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn on_sqlite() {
        let dir = std::env::temp_dir().join(format!("talk-m0005-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/talk.db?mode=rwc", dir.display());
        let db = talk_store::connect(&url, "talk", 1).await.unwrap();
        counts_the_talks_there_are(&db).await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
