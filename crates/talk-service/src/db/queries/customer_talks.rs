//! Queries on `customer_talks`.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use talk_types::CustomerId;

use crate::db::entities::customer_talks::{ActiveModel, Column, Entity};

/// Counts one more live talk of `customer` unless it has `max` already
/// (false: nothing counted). One upsert, which locks the customer's row
/// until the transaction ends, so concurrent creates count one at a time.
pub async fn take<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    max: u32,
) -> Result<bool, DbErr> {
    if max == 0 {
        return Ok(false);
    }
    let live = || Expr::col((Entity, Column::Live));
    let first = ActiveModel {
        customer_id: Set(customer.0),
        live: Set(1),
    };
    let next = OnConflict::column(Column::CustomerId)
        .value(Column::Live, live().add(1))
        .action_and_where(live().lt(i64::from(max)))
        .to_owned();
    let counted = Entity::insert(first)
        .on_conflict(next)
        .exec_without_returning(conn)
        .await?;
    Ok(counted > 0)
}

/// Counts a deleted talk of `customer` off.
pub async fn release<C: ConnectionTrait>(conn: &C, customer: CustomerId) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Live, Expr::col(Column::Live).sub(1))
        .filter(Column::CustomerId.eq(customer.0))
        .filter(Column::Live.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
    use sea_orm_migration::MigratorTrait;
    use talk_types::CustomerId;

    use super::{release, take};
    use crate::db::migration::Migrator;

    /// A customer's count stops at `max` (the upsert's condition refuses,
    /// changing nothing), a release makes room, customers count apart.
    async fn counts_up_to_the_cap(db: &DatabaseConnection) {
        Migrator::up(db, None).await.unwrap();
        let (one, other) = (CustomerId::new(), CustomerId::new());
        for _ in 0..2 {
            assert!(take(db, one, 2).await.unwrap());
        }
        assert!(!take(db, one, 2).await.unwrap(), "at the cap");
        assert!(take(db, other, 2).await.unwrap(), "another customer");
        let txn = db.begin().await.unwrap();
        release(&txn, one).await.unwrap();
        assert!(take(&txn, one, 2).await.unwrap(), "room after a release");
        assert!(!take(&txn, one, 2).await.unwrap());
        txn.commit().await.unwrap();
        assert!(!take(db, one, 0).await.unwrap(), "a cap of 0 takes nothing");
    }

    #[tokio::test]
    async fn on_postgres() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_customer_talks");
        let db = talk_store::connect(&url, &schema, 2).await.unwrap();
        counts_up_to_the_cap(&db).await;
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn on_sqlite() {
        let dir = std::env::temp_dir().join(format!("talk-customers-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/talk.db?mode=rwc", dir.display());
        let db = talk_store::connect(&url, "talk", 1).await.unwrap();
        counts_up_to_the_cap(&db).await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
