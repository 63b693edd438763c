//! The bus consumer's tables: `consumed_events` and `consumer_cursors`.

/// Events already turned into system messages.
pub mod consumed_event {
    use sea_orm::entity::prelude::*;

    /// One consumed event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consumed_events")]
    pub struct Model {
        /// The envelope's id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        /// When it was consumed.
        pub tm_consumed: DateTimeUtc,
    }

    /// No relations are navigated.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
