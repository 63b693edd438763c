//! The gRPC `FileService`: extract, call the domain, map.

use futures_util::StreamExt;
use talk_auth::Caller;
use talk_proto::download_part::Part;
use talk_proto::file_service_server::FileService;
use talk_proto::{
    AttachFilesRequest, AttachedFiles, CollectOrphansRequest, CollectOrphansResponse, DownloadPart,
    DownloadRequest, File, FilePage, FileRef, FileWrite, ListFilesRequest, SignDownloadRequest,
    SignedDownload, UploadPart,
};
use talk_runtime::grpc::{handle_as, handle_service};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::service::Files;

/// Largest gRPC message: upload chunks are far smaller.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Largest chunk of a download message.
const DOWNLOAD_CHUNK: usize = 256 * 1024;

/// The gRPC face of [`Files`].
#[derive(Clone)]
pub struct FileApi {
    files: Files,
}

impl FileApi {
    /// Serves `files` over gRPC.
    pub fn new(files: Files) -> Self {
        Self { files }
    }
}

type DownloadStream = ReceiverStream<Result<DownloadPart, Status>>;

#[tonic::async_trait]
impl FileService for FileApi {
    async fn upload(
        &self,
        request: Request<Streaming<UploadPart>>,
    ) -> Result<Response<File>, Status> {
        handle_as("Upload", request, |caller: Caller, parts| async move {
            // In a task of its own: a client that goes away drops this
            // handler, but the upload still sees its stream fail and
            // cleans up (aborts the multipart upload, removes the row).
            let files = self.files.clone();
            tokio::spawn(async move { files.upload(&caller, parts).await })
                .await
                .map_err(|_| talk_types::ApiError::internal())?
        })
        .await
    }

    async fn get_file(&self, request: Request<FileRef>) -> Result<Response<File>, Status> {
        handle_as("GetFile", request, |caller: Caller, r| async move {
            let FileRef { file_id } = r;
            self.files.get(&caller, &file_id).await
        })
        .await
    }

    async fn list_files(
        &self,
        request: Request<ListFilesRequest>,
    ) -> Result<Response<FilePage>, Status> {
        handle_as("ListFiles", request, |caller: Caller, r| async move {
            let ListFilesRequest { page } = r;
            self.files.list(&caller, page.as_ref()).await
        })
        .await
    }

    async fn delete_file(&self, request: Request<FileWrite>) -> Result<Response<File>, Status> {
        handle_as("DeleteFile", request, |caller: Caller, r| async move {
            let FileWrite { file_id, options } = r;
            self.files.delete(&caller, &file_id, options.as_ref()).await
        })
        .await
    }

    async fn sign_download(
        &self,
        request: Request<SignDownloadRequest>,
    ) -> Result<Response<SignedDownload>, Status> {
        handle_as("SignDownload", request, |caller: Caller, r| async move {
            let SignDownloadRequest { file_id, thumbnail } = r;
            let (url, expires_micros) = self.files.sign(&caller, &file_id, thumbnail).await?;
            Ok(SignedDownload {
                url,
                expires_micros,
            })
        })
        .await
    }

    type DownloadStream = DownloadStream;

    async fn download(
        &self,
        request: Request<DownloadRequest>,
    ) -> Result<Response<DownloadStream>, Status> {
        handle_service("Download", request, |r| async move {
            let download = self.files.download(r).await?;
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                let header = DownloadPart {
                    part: Some(Part::Header(download.header)),
                };
                if tx.send(Ok(header)).await.is_err() {
                    return;
                }
                let mut body = download.body;
                while let Some(chunk) = body.next().await {
                    let chunk = match chunk {
                        Ok(chunk) => chunk,
                        Err(e) => {
                            tracing::warn!(error = %e, "reading a download failed");
                            let _ = tx
                                .send(Err(Status::data_loss("reading the file failed")))
                                .await;
                            return;
                        }
                    };
                    for piece in chunk.chunks(DOWNLOAD_CHUNK) {
                        let part = DownloadPart {
                            part: Some(Part::Chunk(piece.to_vec())),
                        };
                        if tx.send(Ok(part)).await.is_err() {
                            return;
                        }
                    }
                }
            });
            Ok(ReceiverStream::new(rx))
        })
        .await
    }

    async fn attach_files(
        &self,
        request: Request<AttachFilesRequest>,
    ) -> Result<Response<AttachedFiles>, Status> {
        handle_as("AttachFiles", request, |caller: Caller, r| async move {
            let AttachFilesRequest { talk_id, file_ids } = r;
            let files = self.files.attach(&caller, &talk_id, &file_ids).await?;
            Ok(AttachedFiles { files })
        })
        .await
    }

    async fn collect_orphans(
        &self,
        request: Request<CollectOrphansRequest>,
    ) -> Result<Response<CollectOrphansResponse>, Status> {
        handle_service("CollectOrphans", request, |r| async move {
            let CollectOrphansRequest { before_micros } = r;
            let collected = self.files.collect_orphans(before_micros).await?;
            Ok(CollectOrphansResponse { collected })
        })
        .await
    }
}
