//! The `attachments` table: which talks a file was posted in (so their
//! participants may download it).

use sea_orm::entity::prelude::*;
use talk_types::{CustomerId, TalkId};

use crate::FileId;

/// A file attached to a message of a talk.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    /// The file.
    #[sea_orm(primary_key, auto_increment = false)]
    pub file_id: FileId,
    /// The talk.
    #[sea_orm(primary_key, auto_increment = false)]
    pub talk_id: TalkId,
    /// Both's customer.
    pub customer_id: CustomerId,
    /// When it was first attached there.
    pub tm_create: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
