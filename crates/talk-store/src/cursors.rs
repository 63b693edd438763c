//! `consumer_cursors`: where each bus consumer of a service resumes (the
//! position of the last event it applied), saved in the transaction that
//! applied it. One table per service schema, one row per consumer.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ColumnDef, OnConflict, Table, TableCreateStatement};
use sea_orm::{ConnectionTrait, Set};

mod entity {
    use sea_orm::entity::prelude::*;

    /// One consumer's position.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consumer_cursors")]
    pub struct Model {
        /// The consumer's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// Bus position of the last event applied.
        pub seq: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The table, for a service's migration.
pub fn table() -> TableCreateStatement {
    Table::create()
        .table("consumer_cursors")
        .if_not_exists()
        .col(
            ColumnDef::new("name")
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new("seq").big_integer().not_null())
        .to_owned()
}

/// The saved position of consumer `name`.
pub async fn find<C: ConnectionTrait>(conn: &C, name: &str) -> Result<Option<u64>, DbErr> {
    Ok(entity::Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .and_then(|row| u64::try_from(row.seq).ok()))
}

/// Saves the position of consumer `name`.
pub async fn save<C: ConnectionTrait>(conn: &C, name: &str, seq: u64) -> Result<(), DbErr> {
    let row = entity::ActiveModel {
        name: Set(name.to_owned()),
        seq: Set(i64::try_from(seq).unwrap_or(i64::MAX)),
    };
    entity::Entity::insert(row)
        .on_conflict(
            OnConflict::column(entity::Column::Name)
                .update_column(entity::Column::Seq)
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
