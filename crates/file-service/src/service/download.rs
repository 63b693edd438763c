//! Downloads behind signed URLs: the signature and expiry are checked, then
//! the signer's access, again on every request; the content streams out.

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use talk_auth::Caller;
use talk_proto::{DownloadHeader, DownloadRequest};
use talk_types::ApiError;

use super::Files;
use super::names;
use super::signing::Signed;
use crate::FileId;
use crate::error::{Problem, storage};
use crate::storage::Storage;

/// A download: what to say about it, then its bytes.
pub struct Download {
    /// Type, size, name and disposition.
    pub header: DownloadHeader,
    /// The content.
    pub body: BoxStream<'static, Result<bytes::Bytes, object_store::Error>>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// The content a signed URL names, if the signature holds, has not
    /// expired, and its agent may still read the file.
    pub async fn download(&self, request: DownloadRequest) -> Result<Download, ApiError> {
        let DownloadRequest {
            file_id,
            agent_id,
            customer_id,
            permission,
            expires,
            thumbnail,
            signature,
        } = request;
        let forged = || Problem::InvalidDownloadUrl.with("The download URL is not valid.");
        let file: FileId = file_id.parse().map_err(|_| forged())?;
        let caller = Caller {
            agent_id: agent_id.parse().map_err(|_| forged())?,
            customer_id: customer_id.parse().map_err(|_| forged())?,
            permission,
        };
        let signed = Signed {
            file,
            caller,
            expires,
            thumbnail,
        };
        self.settings
            .signer
            .check(&signed, &signature)
            .map_err(|why| Problem::InvalidDownloadUrl.with(why))?;
        let row = self.readable(&caller, file).await?;
        let (key, content_type, filename) = if thumbnail {
            if row.thumbnail_key.is_none() {
                return Err(Problem::NoThumbnail.with("This file has no thumbnail."));
            }
            (
                Storage::thumbnail_key(row.customer_id, row.id),
                "image/png".to_owned(),
                format!("thumbnail-{}.png", row.filename),
            )
        } else {
            (
                Storage::content_key(row.customer_id, row.id),
                row.mime_type.clone(),
                row.filename.clone(),
            )
        };
        let got = self.storage.get(&key).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => Problem::not_found(),
            e => storage(e),
        })?;
        let size = got.meta.size;
        Ok(Download {
            header: DownloadHeader {
                attachment: names::served_as_attachment(&content_type),
                content_type,
                size,
                filename,
            },
            body: got.into_stream().boxed(),
        })
    }
}
