//! The rules: uploads ([`upload`]), reading, listing and deleting
//! ([`manage`]), who may read a file ([`access`]), attaching files to
//! messages ([`attach`]), signed downloads ([`signing`], [`download`]), file
//! names and types ([`names`]), thumbnails ([`thumbnail`]) and the orphan
//! sweep ([`orphans`]).

pub mod access;
pub mod attach;
pub mod download;
pub mod manage;
pub mod names;
pub mod orphans;
pub mod signing;
pub mod thumbnail;
pub mod upload;

use sea_orm::DatabaseConnection;
use talk_auth::Caller;
use talk_config::{Config, ExposeSecret};
use talk_proto::talk_service_client::TalkServiceClient;
use talk_runtime::Channel;
use talk_store::Writes;
use talk_types::time;

use crate::db::entities::file;
use crate::storage::Storage;

pub use signing::Signer;

/// file-service's settings, read once from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Largest file in bytes.
    pub max_bytes: u64,
    /// Bytes one customer may keep; 0: no quota.
    pub quota_bytes: u64,
    /// Signs and checks download URLs.
    pub signer: Signer,
}

impl Settings {
    /// From `TALK_FILE_*` (and the key from `TALK_JWT_SECRET`).
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_bytes: config.file_max_bytes,
            quota_bytes: config.file_quota_bytes,
            signer: Signer::new(
                config.jwt_secret.expose_secret().as_bytes(),
                config.file_url_ttl_secs,
            ),
        }
    }
}

/// file-service's domain: cheap to clone.
#[derive(Clone, Debug)]
pub struct Files {
    db: DatabaseConnection,
    writes: Writes,
    storage: Storage,
    talks: TalkServiceClient<Channel>,
    settings: Settings,
}

impl Files {
    /// Files in `db` and `storage`; talk-service answers who is in a talk.
    pub fn new(
        db: DatabaseConnection,
        storage: Storage,
        talks: TalkServiceClient<Channel>,
        settings: Settings,
    ) -> Self {
        Self {
            writes: Writes::silent(db.clone()),
            db,
            storage,
            talks,
            settings,
        }
    }

    /// The database (tests).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `row` as `caller` sees it, with a download URL signed for `caller`.
    fn wire(&self, row: &file::Model, caller: &Caller) -> talk_proto::File {
        let file::Model {
            id,
            customer_id,
            owner_id,
            kind,
            name,
            detail,
            filename,
            filesize,
            mime_type,
            declared_mime_type,
            sha256,
            storage_key: _,
            thumbnail_key,
            state: _,
            tm_create,
            tm_update,
            tm_delete,
        } = row;
        let (uri_download, expires) = self.settings.signer.sign(*id, caller, false);
        talk_proto::File {
            id: id.to_string(),
            customer_id: customer_id.to_string(),
            owner_type: "agent".into(),
            owner_id: owner_id.to_string(),
            reference_type: String::new(),
            reference_id: String::new(),
            r#type: kind.clone(),
            name: name.clone(),
            detail: detail.clone(),
            filename: filename.clone(),
            filesize: u64::try_from(*filesize).unwrap_or(0),
            attachment: names::served_as_attachment(mime_type),
            mime_type: mime_type.clone(),
            declared_mime_type: declared_mime_type.clone(),
            sha256: sha256.clone(),
            uri_file: format!("/v1.0/service_agents/files/{id}/file"),
            uri_thumbnail: thumbnail_key
                .as_ref()
                .map(|_| format!("/v1.0/service_agents/files/{id}/thumbnail"))
                .unwrap_or_default(),
            uri_download,
            tm_download_expire: expires,
            tm_create: time::to_micros(tm_create),
            tm_update: time::to_micros(tm_update),
            tm_delete: tm_delete.as_ref().map_or(0, time::to_micros),
        }
    }
}
