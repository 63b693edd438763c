//! Uploads: the content streams to the storage in parts (never whole in
//! memory), counted, hashed and sniffed on the way; a stream that breaks,
//! runs over the size limit or the customer's quota, or carries nothing
//! leaves nothing behind.

use futures_util::{Stream, StreamExt};
use sea_orm::{ConnectionTrait, DatabaseBackend, Set};
use sha2::{Digest, Sha256};
use talk_auth::Caller;
use talk_proto::upload_part::Part;
use talk_proto::{File, UploadHeader, UploadPart};
use talk_store::Begun;
use talk_store::idempotency::{Operation, Scope};
use talk_types::{ApiError, time};

use super::{Files, names};
use crate::FileId;
use crate::db::entities::file;
use crate::db::queries::files;
use crate::error::{Problem, db, storage};
use crate::storage::Storage;

/// Bytes of the head kept to sniff the type.
const SNIFF_BYTES: usize = 8 * 1024;
/// Longest name and detail, in characters.
const MAX_TEXT_CHARS: usize = 1024;
/// Largest image a thumbnail is made of, in bytes.
const MAX_THUMBNAIL_SOURCE: u64 = 32 * 1024 * 1024;

/// What streamed in.
struct Received {
    size: u64,
    sha256: String,
    head: Vec<u8>,
}

fn incomplete() -> ApiError {
    Problem::IncompleteUpload.with("The upload ended before the file did; nothing was stored.")
}

/// VoIPBIN's file type: `talk` (the default: files attached to messages).
fn file_type(kind: &str) -> Result<&'static str, ApiError> {
    match kind {
        "" | "talk" => Ok("talk"),
        _ => Err(Problem::InvalidFileType.with("The file type must be talk.")),
    }
}

impl Files {
    /// Stores the file `parts` carry (a header, then its content) for `caller`.
    pub async fn upload<S>(&self, caller: &Caller, mut parts: S) -> Result<File, ApiError>
    where
        S: Stream<Item = Result<UploadPart, tonic::Status>> + Unpin + Send,
    {
        let header = match parts.next().await {
            Some(Ok(UploadPart {
                part: Some(Part::Header(header)),
            })) => header,
            Some(Ok(_)) => {
                return Err(Problem::IncompleteUpload.with("An upload starts with its header."));
            }
            Some(Err(_)) | None => return Err(incomplete()),
        };
        let UploadHeader {
            r#type,
            filename,
            declared_mime_type,
            name,
            detail,
            options,
        } = header;
        let kind = file_type(&r#type)?;
        let filename = names::sanitize(&filename);
        let name = match names::text(&name, MAX_TEXT_CHARS) {
            n if n.is_empty() => filename.clone(),
            n => n,
        };
        let scope = Scope::new(caller.agent_id, Operation::UploadFile, caller.customer_id);
        if let Some(answer) = self.writes.recorded(&scope, options.as_ref()).await? {
            return Ok(answer);
        }
        let quota = self.settings.quota_bytes;
        let used = files::used_bytes(&self.db, caller.customer_id)
            .await
            .map_err(db)?;
        if quota > 0 && used >= quota {
            return Err(quota_exceeded(quota));
        }
        let id = FileId::new();
        let now = time::now();
        let row = files::insert(
            &self.db,
            file::Model {
                id,
                customer_id: caller.customer_id,
                owner_id: caller.agent_id,
                kind: kind.to_owned(),
                name,
                detail: names::text(&detail, MAX_TEXT_CHARS),
                filename,
                filesize: 0,
                mime_type: String::new(),
                declared_mime_type: names::text(&declared_mime_type, 255),
                sha256: String::new(),
                storage_key: Storage::content_key(caller.customer_id, id).to_string(),
                thumbnail_key: None,
                state: files::UPLOADING.to_owned(),
                tm_create: now,
                tm_update: now,
                tm_delete: None,
            },
        )
        .await
        .map_err(db)?;
        let key = Storage::content_key(caller.customer_id, id);
        let received = match self.receive(&key, &mut parts, used).await {
            Ok(received) => received,
            Err(e) => {
                self.forget(&row).await;
                return Err(e);
            }
        };
        let mime_type = names::sniff(&received.head, &row.declared_mime_type);
        let thumbnail = if names::thumbnailable(&mime_type) && received.size <= MAX_THUMBNAIL_SOURCE
        {
            super::thumbnail::make(
                &self.storage,
                &key,
                &Storage::thumbnail_key(caller.customer_id, id),
            )
            .await
        } else {
            None
        };
        let write = match self.writes.begin::<File>(&scope, options.as_ref()).await {
            Ok(Begun::Fresh(write)) => write,
            Ok(Begun::Replay(answer)) => {
                self.forget(&row).await;
                return Ok(answer);
            }
            Err(e) => {
                self.forget(&row).await;
                return Err(e);
            }
        };
        let stored = async {
            lock_customer(write.txn(), caller).await.map_err(db)?;
            let used = files::used_bytes(write.txn(), caller.customer_id)
                .await
                .map_err(db)?;
            if quota > 0 && used.saturating_add(received.size) > quota {
                return Err(quota_exceeded(quota));
            }
            let mut active: file::ActiveModel = row.clone().into();
            active.filesize = Set(i64::try_from(received.size).unwrap_or(i64::MAX));
            active.sha256 = Set(received.sha256.clone());
            active.mime_type = Set(mime_type.clone());
            active.thumbnail_key = Set(thumbnail.map(|k| k.to_string()));
            active.state = Set(files::READY.to_owned());
            active.tm_update = Set(time::now());
            files::update(write.txn(), active).await.map_err(db)
        }
        .await;
        match stored {
            Ok(ready) => {
                let answer = self.wire(&ready, caller);
                if let Err(e) = write.commit(&answer).await {
                    self.forget(&row).await;
                    return Err(e);
                }
                tracing::info!(file_id = %id, size = received.size, mime_type = %ready.mime_type, "file uploaded");
                Ok(answer)
            }
            Err(e) => {
                drop(write);
                self.forget(&row).await;
                Err(e)
            }
        }
    }

    /// Streams the content to `key`; `used` is what the customer's files
    /// took before.
    async fn receive<S>(
        &self,
        key: &object_store::path::Path,
        parts: &mut S,
        used: u64,
    ) -> Result<Received, ApiError>
    where
        S: Stream<Item = Result<UploadPart, tonic::Status>> + Unpin + Send,
    {
        let max = self.settings.max_bytes;
        let quota = self.settings.quota_bytes;
        let mut writer = self.storage.writer(key).await.map_err(storage)?;
        let mut size: u64 = 0;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let outcome = loop {
            let chunk = match parts.next().await {
                // The end must be said: a stream that just stops (a client
                // gone mid-file) is not a complete file.
                None | Some(Err(_)) => break Err(incomplete()),
                Some(Ok(UploadPart {
                    part: Some(Part::End(end)),
                })) if end.size == size => break Ok(()),
                Some(Ok(UploadPart {
                    part: Some(Part::End(_)),
                })) => break Err(incomplete()),
                Some(Ok(UploadPart {
                    part: Some(Part::Chunk(chunk)),
                })) => chunk,
                Some(Ok(_)) => {
                    break Err(Problem::IncompleteUpload.with("An upload has one header, first."));
                }
            };
            size = size.saturating_add(chunk.len() as u64);
            if size > max {
                break Err(Problem::FileTooLarge.with(format!(
                    "The file is larger than the limit of {max} bytes; nothing was stored."
                )));
            }
            if quota > 0 && used.saturating_add(size) > quota {
                break Err(quota_exceeded(quota));
            }
            hasher.update(&chunk);
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            if let Err(e) = writer.wait_for_capacity(1).await {
                break Err(storage(e));
            }
            writer.write(&chunk);
        };
        let outcome = outcome.and_then(|()| {
            if size == 0 {
                Err(Problem::EmptyFile.with("The file is empty; nothing was stored."))
            } else {
                Ok(())
            }
        });
        match outcome {
            Ok(()) => {
                writer.finish().await.map_err(storage)?;
                Ok(Received {
                    size,
                    sha256: hex::encode(hasher.finalize()),
                    head,
                })
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "aborting an upload failed");
                }
                Err(e)
            }
        }
    }

    /// Removes a failed upload's row, content and thumbnail (each may be
    /// missing); what cannot be removed now the orphan sweep removes later.
    async fn forget(&self, row: &file::Model) {
        let thumbnail = Storage::thumbnail_key(row.customer_id, row.id);
        if let Err(e) = self.remove_content(row).await {
            tracing::warn!(file_id = %row.id, error = %e, "removing a failed upload's content failed");
            return;
        }
        if let Err(e) = self.storage.delete(&thumbnail).await {
            tracing::warn!(file_id = %row.id, error = %e, "removing a failed upload's thumbnail failed");
            return;
        }
        if let Err(e) = files::remove(&self.db, row.id).await {
            tracing::warn!(file_id = %row.id, error = %e, "removing a failed upload's row failed");
        }
    }
}

fn quota_exceeded(quota: u64) -> ApiError {
    Problem::QuotaExceeded.with(format!(
        "The customer's files would take more than its quota of {quota} bytes; nothing was stored."
    ))
}

/// One customer's uploads complete one at a time (PostgreSQL: an advisory
/// lock; SQLite serialises writers anyway), so the quota holds under
/// concurrent uploads.
async fn lock_customer<C: ConnectionTrait>(
    conn: &C,
    caller: &Caller,
) -> Result<(), sea_orm::DbErr> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    conn.execute_unprepared(&format!(
        "SELECT pg_advisory_xact_lock(hashtext('file-quota.{}'))",
        caller.customer_id
    ))
    .await
    .map(|_| ())
}
