//! Bad uploads: a 4xx naming the problem, and nothing stored.

use std::path::PathBuf;

use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

use super::{eventually, file_part, files_under, multipart, post_multipart, text_part, upload};

const SERVICES: Topology = Topology::Services { nats_url: None };
const PATH: &str = "/v1.0/files";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_and_store_nothing() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| config.file_max_bytes = 64 * 1024).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let dir = PathBuf::from(&cluster.config.file_dir);
    let nothing_stored = || files_under(&dir).is_empty();

    // No file part.
    let reply = post_multipart(&admin, PATH, multipart(&[text_part("type", "talk")])).await?;
    reply.assert_error(400, "MISSING_FILE");
    // Two file parts: the first had started streaming; it is cancelled.
    let two = multipart(&[
        file_part("a.txt", "text/plain", b"first"),
        file_part("b.txt", "text/plain", b"second"),
    ]);
    post_multipart(&admin, PATH, two)
        .await?
        .assert_error(400, "TOO_MANY_FILES");
    // An empty file.
    let empty = multipart(&[file_part("empty.txt", "text/plain", b"")]);
    post_multipart(&admin, PATH, empty)
        .await?
        .assert_error(400, "EMPTY_FILE");
    // A type Talk does not keep.
    let typed = multipart(&[
        text_part("type", "rag"),
        file_part("a.txt", "text/plain", b"x"),
    ]);
    post_multipart(&admin, PATH, typed)
        .await?
        .assert_error(400, "INVALID_FILE_TYPE");
    // Over the size limit: 413, and nothing in the store.
    let big = vec![7u8; 64 * 1024 + 1];
    let reply = post_multipart(
        &admin,
        PATH,
        multipart(&[file_part("big.bin", "application/octet-stream", &big)]),
    )
    .await?;
    reply.assert_error(413, "FILE_TOO_LARGE");
    // VoIPBIN's path says INVALID_ARGUMENT (its enum has no 413 status).
    let reply = post_multipart(
        &admin,
        "/v1.0/service_agents/files",
        multipart(&[file_part("big.bin", "application/octet-stream", &big)]),
    )
    .await?;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["error"]["reason"], "FILE_TOO_LARGE");
    // Exactly at the limit is fine (and then deleted again).
    let fits = upload(&admin, "fits.bin", "application/octet-stream", &big[1..]).await?;
    admin
        .call(
            reqwest::Method::DELETE,
            &format!("{PATH}/{}", fits["id"].as_str().unwrap_or_default()),
            None,
        )
        .await?
        .expect(200)?;
    // A body cut short in the middle of the file part.
    let mut cut = multipart(&[file_part(
        "cut.bin",
        "application/octet-stream",
        &[1u8; 40_000],
    )]);
    cut.truncate(20_000);
    let reply = post_multipart(&admin, PATH, cut).await?;
    reply.assert_error(400, "INCOMPLETE_UPLOAD");
    // Not multipart at all.
    let reply = admin.raw(reqwest::Method::POST, PATH, "{}").await?;
    assert_eq!(reply.status, 400, "{}", reply.body);

    eventually("the store is empty", nothing_stored).await?;
    assert_eq!(admin.get(PATH).await?["result"], serde_json::json!([]));

    // A hostile file name is kept only as its sanitised last segment.
    let file = upload(
        &admin,
        "../..\\etc/pass\u{85}wd\u{9f}.txt",
        "text/plain",
        b"x",
    )
    .await?;
    assert_eq!(file["filename"], "passwd.txt");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_retried_with_its_idempotency_key_is_stored_once() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let body = || multipart(&[file_part("once.txt", "text/plain", b"stored once")]);
    let key = [("idempotency-key", "upload-once-1")];
    let first = super::post_multipart_with(&admin, PATH, body(), &key)
        .await?
        .expect(200)?;
    let again = super::post_multipart_with(&admin, PATH, body(), &key)
        .await?
        .expect(200)?;
    assert_eq!(first["id"], again["id"]);
    let listed = admin.get(PATH).await?;
    assert_eq!(
        listed["result"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(
        files_under(&PathBuf::from(&cluster.config.file_dir)).len(),
        1
    );
    cluster.stop().await;
    Ok(())
}
