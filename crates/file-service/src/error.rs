//! Why file-service could not start, and the reason codes it answers with.

use std::borrow::Cow;

use sea_orm::DbErr;
use talk_types::{ApiError, ErrorKind};

/// A start-up failure of file-service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached.
    #[error("file database unavailable: {0}")]
    Connect(#[source] DbErr),
    /// A migration failed.
    #[error("file database migration failed: {0}")]
    Migrate(#[source] DbErr),
    /// The storage could not be opened.
    #[error("file storage: {0}")]
    Storage(String),
    /// talk-service's URL is not usable.
    #[error("invalid talk-service url {0:?}")]
    ServiceUrl(String),
    /// The server stopped with an I/O error.
    #[error("file-service server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// The reasons only file-service gives (the shared ones are
/// [`talk_types::Reason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// 404: no such file the caller may read.
    FileNotFound,
    /// 400: a message names a file that does not exist, is another
    /// customer's, is deleted or the poster may not read.
    InvalidFileId,
    /// 400: the upload has no content.
    EmptyFile,
    /// 413: the file is larger than `TALK_FILE_MAX_BYTES`.
    FileTooLarge,
    /// 413: the customer's files would exceed `TALK_FILE_QUOTA_BYTES`.
    QuotaExceeded,
    /// 400: the upload's `type` is not one Talk keeps.
    InvalidFileType,
    /// 400: the upload stream broke off or was malformed.
    IncompleteUpload,
    /// 403: a signed URL that is forged, expired or for someone else.
    InvalidDownloadUrl,
    /// 404: the file has no thumbnail (not an image).
    NoThumbnail,
}

impl Problem {
    fn kind(self) -> ErrorKind {
        match self {
            Self::FileNotFound | Self::NoThumbnail => ErrorKind::NotFound,
            Self::InvalidFileId
            | Self::EmptyFile
            | Self::InvalidFileType
            | Self::IncompleteUpload => ErrorKind::InvalidArgument,
            Self::FileTooLarge | Self::QuotaExceeded => ErrorKind::PayloadTooLarge,
            Self::InvalidDownloadUrl => ErrorKind::PermissionDenied,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::FileNotFound => "FILE_NOT_FOUND",
            Self::InvalidFileId => "INVALID_FILE_ID",
            Self::EmptyFile => "EMPTY_FILE",
            Self::FileTooLarge => "FILE_TOO_LARGE",
            Self::QuotaExceeded => "FILE_QUOTA_EXCEEDED",
            Self::InvalidFileType => "INVALID_FILE_TYPE",
            Self::IncompleteUpload => "INCOMPLETE_UPLOAD",
            Self::InvalidDownloadUrl => "INVALID_DOWNLOAD_URL",
            Self::NoThumbnail => "NO_THUMBNAIL",
        }
    }

    /// The error, with a sentence that says what is wrong.
    pub fn with(self, message: impl Into<String>) -> ApiError {
        ApiError {
            kind: self.kind(),
            reason: Cow::Borrowed(self.code()),
            message: message.into(),
        }
    }

    /// 404 for a file that is not there (or that the caller may not read).
    pub fn not_found() -> ApiError {
        Self::FileNotFound.with("No file with this id.")
    }
}

/// A database failure as the caller sees it: 500, logged once here.
pub fn db(e: DbErr) -> ApiError {
    tracing::error!(error = %e, "file database failed");
    ApiError::internal()
}

/// A storage failure as the caller sees it: 500, logged once here.
pub fn storage(e: object_store::Error) -> ApiError {
    tracing::error!(error = %e, "file storage failed");
    ApiError::internal()
}
