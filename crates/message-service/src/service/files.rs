//! `file` medias: file-service checks each `file_id` (it exists, is the
//! customer's, is not deleted and the poster may read it; the poster is in
//! the talk), links it to the talk so the talk's participants may download
//! it, and answers what the message then carries about it.

use talk_proto::file_service_client::FileServiceClient;
use talk_proto::{AttachFilesRequest, Media, MediaFile};
use talk_types::{ApiError, TalkId};

use super::{Caller, Messages};

impl Messages {
    /// The same service, resolving `file` medias with file-service at `url`.
    pub fn with_files(
        self,
        url: &str,
        internal: &talk_runtime::Internal,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            files: Some(FileServiceClient::new(talk_runtime::channel(
                url, internal,
            )?)),
            ..self
        })
    }

    /// Fills in the file of each `file` media of a message `caller` posts in
    /// `talk`; the first file that cannot be attached is a 400 naming it.
    pub(super) async fn attach_files(
        &self,
        caller: &Caller,
        talk: TalkId,
        mut medias: Vec<Media>,
    ) -> Result<Vec<Media>, ApiError> {
        let wanted: Vec<(usize, String)> = medias
            .iter()
            .enumerate()
            .filter(|(_, m)| m.r#type == "file")
            .filter_map(|(i, m)| m.file_id.clone().map(|id| (i, id)))
            .collect();
        if wanted.is_empty() {
            return Ok(medias);
        }
        let Some(files) = &self.files else {
            return Err(ApiError::unavailable("file service"));
        };
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            AttachFilesRequest {
                talk_id: talk.to_string(),
                file_ids: wanted.iter().map(|(_, id)| id.clone()).collect(),
            },
        );
        let attached = files
            .clone()
            .attach_files(request)
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner()
            .files;
        if attached.len() != wanted.len() {
            tracing::warn!("file-service answered another number of files than asked");
            return Err(ApiError::internal());
        }
        for ((i, _), file) in wanted.into_iter().zip(attached) {
            let media = &mut medias[i];
            media.name.get_or_insert_with(|| file.filename.clone());
            media.file = Some(MediaFile {
                name: file.filename,
                size: file.filesize,
                mime_type: file.mime_type,
                uri_download: file.uri_file,
                uri_thumbnail: file.uri_thumbnail,
            });
        }
        Ok(medias)
    }
}
