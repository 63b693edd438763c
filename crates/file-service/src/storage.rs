//! Where file contents live: `object_store` over a local folder (the
//! embedded default, `<data_dir>/files`) or an S3-compatible bucket.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use talk_config::Config;
#[cfg(feature = "s3")]
use talk_config::ExposeSecret;
use talk_types::CustomerId;

use crate::{Error, FileId};

/// Parts of a multipart upload: S3's smallest but the last.
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// The store of file contents.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
}

impl Storage {
    /// The store `TALK_FILE_STORAGE` names.
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        let store: Arc<dyn ObjectStore> = match config.file_storage.as_str() {
            #[cfg(feature = "s3")]
            "s3" => {
                use object_store::aws::AmazonS3Builder;
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&config.file_s3_bucket)
                    .with_region(&config.file_s3_region);
                if !config.file_s3_endpoint.is_empty() {
                    builder = builder
                        .with_endpoint(&config.file_s3_endpoint)
                        .with_allow_http(config.file_s3_endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if !config.file_s3_access_key_id.is_empty() {
                    builder = builder
                        .with_access_key_id(&config.file_s3_access_key_id)
                        .with_secret_access_key(config.file_s3_secret_access_key.expose_secret());
                }
                Arc::new(builder.build().map_err(|e| Error::Storage(e.to_string()))?)
            }
            #[cfg(not(feature = "s3"))]
            "s3" => {
                return Err(Error::Storage(
                    "this build has no S3 support (cargo feature s3)".into(),
                ));
            }
            _ => {
                let dir = if config.file_dir.is_empty() {
                    config.data_dir.join("files")
                } else {
                    config.file_dir.clone().into()
                };
                std::fs::create_dir_all(&dir).map_err(|e| Error::Storage(e.to_string()))?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(&dir)
                        .map_err(|e| Error::Storage(e.to_string()))?,
                )
            }
        };
        Ok(Self { store })
    }

    /// Where the content of `file` goes.
    pub fn content_key(customer: CustomerId, file: FileId) -> Path {
        Path::from(format!("files/{customer}/{file}"))
    }

    /// Where the thumbnail of `file` goes.
    pub fn thumbnail_key(customer: CustomerId, file: FileId) -> Path {
        Path::from(format!("thumbnails/{customer}/{file}.png"))
    }

    /// A multipart upload to `key`, written in [`PART_BYTES`] parts.
    pub async fn writer(&self, key: &Path) -> Result<WriteMultipart, object_store::Error> {
        let upload = self.store.put_multipart(key).await?;
        Ok(WriteMultipart::new_with_chunk_size(upload, PART_BYTES))
    }

    /// Stores a small object whole.
    pub async fn put(&self, key: &Path, bytes: bytes::Bytes) -> Result<(), object_store::Error> {
        self.store.put(key, bytes.into()).await.map(|_| ())
    }

    /// The object at `key`, as a stream of chunks.
    pub async fn get(&self, key: &Path) -> Result<object_store::GetResult, object_store::Error> {
        self.store.get(key).await
    }

    /// Removes the object at `key`; one already gone is fine.
    pub async fn delete(&self, key: &Path) -> Result<(), object_store::Error> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
