//! The `files` table: one row per upload.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId};

use crate::FileId;

/// An upload: `uploading` while its content streams in, then `ready`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: FileId,
    /// Its customer: the only one that sees it.
    pub customer_id: CustomerId,
    /// The agent who uploaded it.
    pub owner_id: AgentId,
    /// VoIPBIN's file type (`talk`).
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The sanitised file name.
    pub filename: String,
    /// Size in bytes (0 while uploading).
    pub filesize: i64,
    /// The type sniffed from the bytes (else the declared one if text, else
    /// `application/octet-stream`).
    pub mime_type: String,
    /// The type the client declared.
    pub declared_mime_type: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Where the content is in the storage.
    pub storage_key: String,
    /// Where its thumbnail is (images only).
    pub thumbnail_key: Option<String>,
    /// `uploading` or `ready`.
    pub state: String,
    /// When it was created.
    pub tm_create: DateTimeUtc,
    /// When it last changed.
    pub tm_update: DateTimeUtc,
    /// When it was deleted.
    pub tm_delete: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
