//! Reading, listing and deleting files.

use sea_orm::Set;
use talk_auth::Caller;
use talk_proto::{File, FilePage, PageRequest, WriteOptions};
use talk_store::Begun;
use talk_store::idempotency::{Operation, Scope};
use talk_types::{ApiError, time};

use super::Files;
use crate::FileId;
use crate::db::entities::file;
use crate::db::queries::files;
use crate::error::{Problem, db, storage};
use crate::storage::Storage;

impl Files {
    /// File `id`, when `caller` may read it.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<File, ApiError> {
        let id = FileId::parse("id", id)?;
        let row = self.readable(caller, id).await?;
        Ok(self.wire(&row, caller))
    }

    /// A signed download URL of file `id` (or its thumbnail) for `caller`.
    pub async fn sign(
        &self,
        caller: &Caller,
        id: &str,
        thumbnail: bool,
    ) -> Result<(String, i64), ApiError> {
        let id = FileId::parse("id", id)?;
        let row = self.readable(caller, id).await?;
        if thumbnail && row.thumbnail_key.is_none() {
            return Err(Problem::NoThumbnail.with("This file has no thumbnail; only images do."));
        }
        Ok(self.settings.signer.sign(row.id, caller, thumbnail))
    }

    /// The caller's files (an admin's: the customer's), newest first.
    pub async fn list(
        &self,
        caller: &Caller,
        page: Option<&PageRequest>,
    ) -> Result<FilePage, ApiError> {
        let (size, token) = page.map_or((0, ""), |p| (p.page_size, p.page_token.as_str()));
        let (limit, before) = talk_types::page::parse(size, token)?;
        let owner = (!caller.is_admin()).then_some(caller.agent_id);
        let rows = files::list(&self.db, caller.customer_id, owner, before, limit)
            .await
            .map_err(db)?;
        let next_page_token = rows
            .last()
            .map(|r| time::format(&r.tm_create))
            .unwrap_or_default();
        Ok(FilePage {
            files: rows.iter().map(|r| self.wire(r, caller)).collect(),
            next_page_token,
        })
    }

    /// Deletes file `id` (its uploader or an admin): the row is marked, the
    /// content and thumbnail removed. Messages that carry it keep their
    /// media; downloading it answers 404 from then on.
    pub async fn delete(
        &self,
        caller: &Caller,
        id: &str,
        options: Option<&WriteOptions>,
    ) -> Result<File, ApiError> {
        let id = FileId::parse("id", id)?;
        let scope = Scope::new(caller.agent_id, Operation::DeleteFile, id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let row = self.readable(caller, id).await?;
        if row.owner_id != caller.agent_id && !caller.is_admin() {
            return Err(ApiError::permission_denied());
        }
        let write = match self.writes.begin::<File>(&scope, options).await? {
            Begun::Fresh(write) => write,
            Begun::Replay(answer) => return Ok(answer),
        };
        let now = time::now();
        let mut active: file::ActiveModel = row.clone().into();
        active.tm_delete = Set(Some(now));
        active.tm_update = Set(now);
        let row = files::update(write.txn(), active).await.map_err(db)?;
        let answer = self.wire(&row, caller);
        write.commit(&answer).await?;
        self.remove_content(&row).await.map_err(storage)?;
        Ok(answer)
    }

    /// Removes a file's content and thumbnail from the storage.
    pub(super) async fn remove_content(
        &self,
        row: &file::Model,
    ) -> Result<(), object_store::Error> {
        self.storage
            .delete(&Storage::content_key(row.customer_id, row.id))
            .await?;
        if row.thumbnail_key.is_some() {
            self.storage
                .delete(&Storage::thumbnail_key(row.customer_id, row.id))
                .await?;
        }
        Ok(())
    }
}
