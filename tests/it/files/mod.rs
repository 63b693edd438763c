//! Files through the whole system: uploads over REST (multipart, streamed),
//! stored by file-service in a local folder (or S3), attached to messages by
//! id, downloaded through a 307 to a signed, expiring URL.
//!
//! - upload, list, get, download byte for byte, delete; who may read what
//!   (uploader, admins, participants of a talk it was posted in; nobody else,
//!   not another customer, not an expired or altered URL) ([`api`]);
//! - attaching by `file_id`: the message carries name, size, type and URLs,
//!   on REST and in `message_created`; bad ids are 400 naming them ([`attach`]);
//! - bad uploads: no file part, two, empty, too large, a body cut short, a
//!   hostile file name — a 4xx and nothing stored ([`input`]);
//! - sniffed types, dangerous types as attachments, thumbnails of PNG and
//!   JPEG, the quota, orphans ([`content`]);
//! - 50 MiB streamed through the real binaries: the services' memory grows
//!   by far less than the file ([`large`]);
//! - the same on a real S3-compatible server, moto (`s3`, with the `s3`
//!   feature: `make test` runs it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use talk_e2e::Api;
use talk_e2e::client::Reply;

mod api;
mod attach;
mod content;
mod input;
mod large;
#[cfg(feature = "s3")]
mod s3;

/// One part of a multipart body.
pub struct Part<'a> {
    /// The part's name (`file`, `type`, ...).
    pub name: &'a str,
    /// A file name, for a file part.
    pub filename: Option<&'a str>,
    /// Its `Content-Type`.
    pub content_type: Option<&'a str>,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// A file part.
pub fn file_part<'a>(filename: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part {
        name: "file",
        filename: Some(filename),
        content_type: Some(content_type),
        bytes,
    }
}

/// A text part.
pub fn text_part<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name,
        filename: None,
        content_type: None,
        bytes: value.as_bytes(),
    }
}

const BOUNDARY: &str = "talk-test-boundary-7d1f";

/// A `multipart/form-data` body of `parts`, written by hand (so tests can
/// also send broken ones).
pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// POSTs a multipart `body` to `path` as `api`'s agent.
pub async fn post_multipart(api: &Api, path: &str, body: Vec<u8>) -> anyhow::Result<Reply> {
    post_multipart_with(api, path, body, &[]).await
}

/// [`post_multipart`] with extra headers.
pub async fn post_multipart_with(
    api: &Api,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> anyhow::Result<Reply> {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", api.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if let Some(token) = &api.token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(Reply {
        status,
        body,
        headers,
    })
}

/// Uploads one file (VoIPBIN's path, `type=talk`) and answers the stored file.
pub async fn upload(
    api: &Api,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> anyhow::Result<Value> {
    let body = multipart(&[
        text_part("type", "talk"),
        file_part(filename, content_type, bytes),
    ]);
    post_multipart(api, "/v1.0/service_agents/files", body)
        .await?
        .expect(200)
}

/// A download: status, headers and bytes.
pub struct Download {
    /// The final status.
    pub status: StatusCode,
    /// The final headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub bytes: Vec<u8>,
}

/// GETs `path` (with `api`'s token when given) without following redirects.
pub async fn fetch(base: &str, token: Option<&str>, path: &str) -> anyhow::Result<Download> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut request = client.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    Ok(Download {
        status: response.status(),
        headers: response.headers().clone(),
        bytes: response.bytes().await?.to_vec(),
    })
}

/// The `Location` of a 307 (the signed URL), or an error showing the answer.
pub async fn signed_url(api: &Api, path: &str) -> anyhow::Result<String> {
    let answer = fetch(&api.base, api.token.as_deref(), path).await?;
    if answer.status != StatusCode::TEMPORARY_REDIRECT {
        bail!(
            "expected 307 from {path}, got {}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.bytes)
        );
    }
    Ok(answer
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .context("a 307 without Location")?
        .to_owned())
}

/// Follows `path`'s 307 as `api` (a token on the first request only, as a
/// browser does across origins) and answers what the signed URL serves.
pub async fn download(api: &Api, path: &str) -> anyhow::Result<Download> {
    let location = signed_url(api, path).await?;
    fetch(&api.base, None, &location).await
}

/// Hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    hex_string(&Sha256::digest(bytes))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `dir` (recursively), e.g. a local store's objects.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Waits (polling, at most 10 s) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
