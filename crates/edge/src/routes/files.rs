//! Files: VoIPBIN's `/v1.0/service_agents/files` (and the seed-style
//! `/v1.0/files`): upload (multipart `file` + `type`), list, get, delete,
//! `…/{id}/file` and `…/{id}/thumbnail` (307 to a signed, expiring URL), and
//! `/v1.0/files/{id}/download`, which serves a signed URL without a token.
//!
//! An upload streams: each chunk of the multipart `file` part goes on to
//! file-service as it arrives (a bounded channel, so a slow store slows the
//! client), never the whole file in memory. file-service checks every rule;
//! this file extracts, calls and maps.

use std::borrow::Cow;

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{ApiError, ErrorKind, time};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::task::AbortOnDropHandle;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Registry, doc};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Auth, Id, Pagination, PathId, Write};

const VOIPBIN: &str = "/v1.0/service_agents/files";
const VOIPBIN_ONE: &str = "/v1.0/service_agents/files/{id}";
const VOIPBIN_FILE: &str = "/v1.0/service_agents/files/{id}/file";
const VOIPBIN_THUMBNAIL: &str = "/v1.0/service_agents/files/{id}/thumbnail";
const SEED: &str = "/v1.0/files";
const SEED_ONE: &str = "/v1.0/files/{id}";
const SEED_FILE: &str = "/v1.0/files/{id}/file";
const SEED_THUMBNAIL: &str = "/v1.0/files/{id}/thumbnail";
const DOWNLOAD: &str = "/v1.0/files/{id}/download";

/// Upload chunks in flight between the client and file-service.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Longest text part (`type`, `name`, `detail`) of an upload.
const MAX_TEXT_PART: usize = 1024;

/// Whether a request is an upload (its body streams: the idempotency
/// middleware must not read it whole).
pub fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::POST && matches!(path.trim_end_matches('/'), VOIPBIN | SEED)
}

/// Registers the file routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "files";
    let mut registry = registry;
    for (list, one, file, thumbnail) in [
        (VOIPBIN, VOIPBIN_ONE, VOIPBIN_FILE, VOIPBIN_THUMBNAIL),
        (SEED, SEED_ONE, SEED_FILE, SEED_THUMBNAIL),
    ] {
        registry = registry
            .add(
                Method::POST,
                list,
                upload.layer(DefaultBodyLimit::disable()),
                doc(
                    tag,
                    "Upload a file (multipart: one `file` part, optional `type`=talk, `name`, `detail`); it streams to storage",
                )
                .ok::<StoredFile>(200),
            )
            .add(
                Method::GET,
                list,
                list_files,
                doc(tag, "The caller's files (admins: the customer's), newest first")
                    .paged()
                    .ok::<FilePage>(200),
            )
            .add(Method::GET, one, get, doc(tag, "One file").ok::<StoredFile>(200))
            .add(
                Method::DELETE,
                one,
                delete,
                doc(tag, "Delete a file (its uploader or an admin)").ok::<StoredFile>(200),
            )
            .add(
                Method::GET,
                file,
                download_file,
                doc(tag, "307 to a signed, expiring URL of the file's content"),
            )
            .add(
                Method::GET,
                thumbnail,
                download_thumbnail,
                doc(tag, "307 to a signed, expiring URL of an image's thumbnail"),
            );
    }
    registry.add(
        Method::GET,
        DOWNLOAD,
        serve,
        doc(
            tag,
            "The content behind a signed URL (no token: the URL is the credential)",
        )
        .query("agent_id", true, "Who it was signed for.")
        .query("customer_id", true, "Their customer.")
        .query("permission", true, "Their permission bits.")
        .query("expires", true, "Seconds since the epoch.")
        .query("thumbnail", false, "1: the thumbnail.")
        .query("signature", true, "HMAC-SHA256, hex.")
        .public(),
    )
}

/// A file id in the path.
#[derive(Clone, Copy, Debug)]
pub struct FileRef(pub Uuid);

impl PathId for FileRef {
    fn from_uuid(value: Uuid) -> Self {
        Self(value)
    }
}

/// VoIPBIN's `StorageManagerFile`, plus Talk's `mime_type`, `sha256` and
/// `uri_thumbnail`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StoredFile {
    /// Its id.
    pub id: String,
    /// Its customer.
    pub customer_id: String,
    /// `agent`.
    pub owner_type: String,
    /// The uploader.
    pub owner_id: String,
    /// Empty: files are attached by id.
    pub reference_type: String,
    /// Empty.
    pub reference_id: String,
    /// `talk`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Display name (the file name unless one was given).
    pub name: String,
    /// Free text.
    pub detail: String,
    /// The sanitised file name.
    pub filename: String,
    /// Size in bytes.
    pub filesize: u64,
    /// A signed URL for the caller, valid until `tm_download_expire`.
    pub uri_download: String,
    /// When `uri_download` stops working.
    pub tm_download_expire: Option<String>,
    /// The type sniffed from the bytes.
    pub mime_type: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// `GET` with a token: 307 to the thumbnail (images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_thumbnail: Option<String>,
    /// Created.
    pub tm_create: Option<String>,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted, or null.
    pub tm_delete: Option<String>,
}

fn stamp(micros: i64) -> Option<String> {
    time::from_micros(micros).map(|t| time::format(&t))
}

impl From<pb::File> for StoredFile {
    fn from(value: pb::File) -> Self {
        let pb::File {
            id,
            customer_id,
            owner_type,
            owner_id,
            reference_type,
            reference_id,
            r#type,
            name,
            detail,
            filename,
            filesize,
            mime_type,
            declared_mime_type: _,
            sha256,
            uri_file: _,
            uri_thumbnail,
            uri_download,
            tm_download_expire,
            tm_create,
            tm_update,
            tm_delete,
            attachment: _,
        } = value;
        Self {
            id,
            customer_id,
            owner_type,
            owner_id,
            reference_type,
            reference_id,
            kind: r#type,
            name,
            detail,
            filename,
            filesize,
            uri_download,
            tm_download_expire: stamp(tm_download_expire),
            mime_type,
            sha256,
            uri_thumbnail: Some(uri_thumbnail).filter(|u| !u.is_empty()),
            tm_create: stamp(tm_create),
            tm_update: stamp(tm_update),
            tm_delete: stamp(tm_delete),
        }
    }
}

/// A page of files.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FilePage {
    /// Files, newest first.
    pub result: Vec<StoredFile>,
    /// `tm_create` of the page's last file ("" when empty).
    pub next_page_token: String,
}

fn problem(kind: ErrorKind, reason: &'static str, message: &str) -> HttpError {
    HttpError(ApiError {
        kind,
        reason: Cow::Borrowed(reason),
        message: message.to_owned(),
    })
}

fn broken_body() -> HttpError {
    problem(
        ErrorKind::InvalidArgument,
        "INCOMPLETE_UPLOAD",
        "The multipart body is malformed or ended early; nothing was stored.",
    )
}

/// Reads a small text part, at most [`MAX_TEXT_PART`] bytes.
async fn text_part(mut field: axum::extract::multipart::Field<'_>) -> Result<String, HttpError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|_| broken_body())? {
        if out.len() + chunk.len() > MAX_TEXT_PART {
            return Err(problem(
                ErrorKind::InvalidArgument,
                "INVALID_ARGUMENT",
                "A text part of the upload is longer than 1024 bytes.",
            ));
        }
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).map_err(|_| {
        problem(
            ErrorKind::InvalidArgument,
            "INVALID_ARGUMENT",
            "A text part of the upload is not UTF-8.",
        )
    })
}

/// `POST …/files`: the `file` part streams to file-service while the rest
/// of the body is read; a second `file` part, a `type` other than `talk`,
/// or a body that breaks off cancels the call (file-service then removes
/// what it stored).
pub async fn upload(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    mut multipart: Multipart,
) -> Result<Json<StoredFile>, HttpError> {
    let mut kind = String::new();
    let mut name = String::new();
    let mut detail = String::new();
    // Declared first, dropped last: if this handler is dropped (the client
    // went away) the call is aborted first; file-service also refuses a
    // stream that stops without its end part.
    let mut open: Option<(mpsc::Sender<pb::UploadPart>, u64)> = None;
    let mut call: Option<AbortOnDropHandle<Result<tonic::Response<pb::File>, tonic::Status>>> =
        None;
    let outcome: Result<(), HttpError> = async {
        while let Some(field) = multipart.next_field().await.map_err(|_| broken_body())? {
            match field.name().unwrap_or_default() {
                "file" => {
                    if call.is_some() {
                        return Err(problem(
                            ErrorKind::InvalidArgument,
                            "TOO_MANY_FILES",
                            "An upload carries one file part; this one has more.",
                        ));
                    }
                    let (tx, rx) = mpsc::channel::<pb::UploadPart>(CHUNKS_IN_FLIGHT);
                    let header = pb::UploadHeader {
                        r#type: kind.clone(),
                        filename: field.file_name().unwrap_or_default().to_owned(),
                        declared_mime_type: field.content_type().unwrap_or_default().to_owned(),
                        name: name.clone(),
                        detail: detail.clone(),
                        options: Some(options.clone()),
                    };
                    let mut client = state.clients.files.clone();
                    let request = acting(me.caller(), ReceiverStream::new(rx));
                    call = Some(AbortOnDropHandle::new(tokio::spawn(async move {
                        client.upload(request).await
                    })));
                    let first = pb::UploadPart {
                        part: Some(pb::upload_part::Part::Header(header)),
                    };
                    if tx.send(first).await.is_err() {
                        return Ok(());
                    }
                    let mut field = field;
                    let mut sent: u64 = 0;
                    while let Some(chunk) = field.chunk().await.map_err(|_| broken_body())? {
                        sent += chunk.len() as u64;
                        let part = pb::UploadPart {
                            part: Some(pb::upload_part::Part::Chunk(chunk.to_vec())),
                        };
                        // file-service answered early (too large, quota): its answer says why.
                        if tx.send(part).await.is_err() {
                            return Ok(());
                        }
                    }
                    // The stream stays open until the body ends: a second
                    // file part must still be able to cancel the call.
                    open = Some((tx, sent));
                }
                "type" => {
                    kind = text_part(field).await?;
                    if call.is_some() && !matches!(kind.as_str(), "" | "talk") {
                        return Err(problem(
                            ErrorKind::InvalidArgument,
                            "INVALID_FILE_TYPE",
                            "The file type must be talk.",
                        ));
                    }
                }
                "name" => name = text_part(field).await?,
                "detail" => detail = text_part(field).await?,
                _ => {
                    text_part(field).await?;
                }
            }
        }
        Ok(())
    }
    .await;
    let Some(call) = call else {
        outcome?;
        return Err(problem(
            ErrorKind::InvalidArgument,
            "MISSING_FILE",
            "The upload has no part named file.",
        ));
    };
    if let Err(e) = outcome {
        call.abort();
        return Err(e);
    }
    // The body is complete: say so (the end part), then end the stream.
    if let Some((tx, size)) = open.take() {
        let end = pb::UploadPart {
            part: Some(pb::upload_part::Part::End(pb::UploadEnd { size })),
        };
        // A closed stream means file-service has answered already.
        let _ = tx.send(end).await;
    }
    let file = call
        .await
        .map_err(|_| HttpError(ApiError::internal()))??
        .into_inner();
    Ok(Json(file.into()))
}

/// `GET …/files`.
pub async fn list_files(
    State(state): State<AppState>,
    Auth(me): Auth,
    Pagination(page): Pagination,
) -> Result<Json<FilePage>, HttpError> {
    let page = state
        .clients
        .files
        .clone()
        .list_files(acting(
            me.caller(),
            pb::ListFilesRequest { page: Some(page) },
        ))
        .await?
        .into_inner();
    Ok(Json(FilePage {
        result: page.files.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `GET …/files/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(FileRef(id)): Id<FileRef>,
) -> Result<Json<StoredFile>, HttpError> {
    let file = state
        .clients
        .files
        .clone()
        .get_file(acting(
            me.caller(),
            pb::FileRef {
                file_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(file.into()))
}

/// `DELETE …/files/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(FileRef(id)): Id<FileRef>,
) -> Result<Json<StoredFile>, HttpError> {
    let file = state
        .clients
        .files
        .clone()
        .delete_file(acting(
            me.caller(),
            pb::FileWrite {
                file_id: id.to_string(),
                options: Some(options),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(file.into()))
}

async fn redirect(
    state: AppState,
    me: Auth,
    id: Uuid,
    thumbnail: bool,
) -> Result<Response, HttpError> {
    let signed = state
        .clients
        .files
        .clone()
        .sign_download(acting(
            me.0.caller(),
            pb::SignDownloadRequest {
                file_id: id.to_string(),
                thumbnail,
            },
        ))
        .await?
        .into_inner();
    let location =
        HeaderValue::from_str(&signed.url).map_err(|_| HttpError(ApiError::internal()))?;
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// `GET …/files/{id}/file`: 307 to a signed URL for the caller.
pub async fn download_file(
    State(state): State<AppState>,
    me: Auth,
    Id(FileRef(id)): Id<FileRef>,
) -> Result<Response, HttpError> {
    redirect(state, me, id, false).await
}

/// `GET …/files/{id}/thumbnail`: 307 to a signed URL for the caller.
pub async fn download_thumbnail(
    State(state): State<AppState>,
    me: Auth,
    Id(FileRef(id)): Id<FileRef>,
) -> Result<Response, HttpError> {
    redirect(state, me, id, true).await
}

/// The query of a signed URL.
#[derive(Debug, Default, Deserialize)]
pub struct SignedQuery {
    agent_id: Option<String>,
    customer_id: Option<String>,
    permission: Option<u32>,
    expires: Option<i64>,
    thumbnail: Option<u8>,
    signature: Option<String>,
}

/// `RFC 6266` `filename*` for any name, and a plain ASCII fallback.
fn disposition(attachment: bool, filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let kind = if attachment { "attachment" } else { "inline" };
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// `GET /v1.0/files/{id}/download?…`: no token; file-service checks the
/// signature, its expiry and the signer's access, then the bytes stream.
pub async fn serve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<SignedQuery>,
) -> Result<Response, HttpError> {
    let SignedQuery {
        agent_id,
        customer_id,
        permission,
        expires,
        thumbnail,
        signature,
    } = query;
    let forged = || {
        problem(
            ErrorKind::PermissionDenied,
            "INVALID_DOWNLOAD_URL",
            "The download URL is not valid.",
        )
    };
    let request = pb::DownloadRequest {
        file_id: id,
        agent_id: agent_id.ok_or_else(forged)?,
        customer_id: customer_id.ok_or_else(forged)?,
        permission: permission.ok_or_else(forged)?,
        expires: expires.ok_or_else(forged)?,
        thumbnail: thumbnail == Some(1),
        signature: signature.ok_or_else(forged)?,
    };
    let mut parts = state
        .clients
        .files
        .clone()
        .download(talk_runtime::grpc::request(request))
        .await?
        .into_inner();
    let header = match parts.message().await? {
        Some(pb::DownloadPart {
            part: Some(pb::download_part::Part::Header(header)),
        }) => header,
        _ => return Err(HttpError(ApiError::internal())),
    };
    let pb::DownloadHeader {
        content_type,
        size,
        filename,
        attachment,
    } = header;
    let body = futures_util::stream::unfold(parts, |mut parts| async move {
        match parts.message().await {
            Ok(Some(pb::DownloadPart {
                part: Some(pb::download_part::Part::Chunk(chunk)),
            })) => Some((Ok(bytes::Bytes::from(chunk)), parts)),
            Ok(_) => None,
            Err(status) => Some((
                Err(std::io::Error::other(status.message().to_owned())),
                parts,
            )),
        }
    })
    .boxed();
    let content_type = HeaderValue::from_str(&content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CONTENT_DISPOSITION,
        disposition(attachment, &filename),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}
