//! The same files on a real S3-compatible server: moto (`moto[server]` from
//! PyPI, installed by `scripts/test-deps.sh`), started by the test on a free
//! port. Built with the `s3` feature: `cargo nextest run -p talk-e2e
//! --features s3 files::s3` (`make test` runs it).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

use super::{download, fetch, file_part, multipart, post_multipart, sha256, upload};

const BUCKET: &str = "talk-files";

/// A moto server, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> anyhow::Result<Moto> {
    let port = talk_testkit::free_addr().port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(reply) = http.put(format!("{}/{BUCKET}", moto.url)).send().await
            && reply.status().is_success()
        {
            return Ok(moto);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "moto_server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The keys in the bucket, and the multipart uploads still open.
async fn bucket(moto: &Moto) -> anyhow::Result<(usize, usize)> {
    let http = reqwest::Client::new();
    let keys = http
        .get(format!("{}/{BUCKET}?list-type=2", moto.url))
        .send()
        .await?
        .text()
        .await?
        .matches("<Key>")
        .count();
    let uploads = http
        .get(format!("{}/{BUCKET}?uploads", moto.url))
        .send()
        .await?
        .text()
        .await?
        .matches("<UploadId>")
        .count();
    Ok((keys, uploads))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_live_in_an_s3_compatible_bucket() -> anyhow::Result<()> {
    let moto = moto().await?;
    let endpoint = moto.url.clone();
    let cluster = Cluster::start_with(Topology::Services { nats_url: None }, |config| {
        config.file_storage = "s3".into();
        config.file_s3_endpoint = endpoint;
        config.file_s3_bucket = BUCKET.into();
        config.file_s3_access_key_id = "test".into();
        config.file_s3_secret_access_key = "test".into();
        config.file_max_bytes = 8 * 1024 * 1024;
    })
    .await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;

    // Small, and larger than one 5 MiB part (a real multipart upload).
    let small = b"stored in S3".to_vec();
    let large: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 249) as u8).collect();
    let mut ids = Vec::new();
    for (name, bytes) in [("small.txt", &small), ("large.bin", &large)] {
        let file = upload(&admin, name, "application/octet-stream", bytes).await?;
        let id = file["id"].as_str().unwrap_or_default().to_owned();
        let fetched = download(&admin, &format!("/v1.0/files/{id}/file")).await?;
        assert_eq!(sha256(&fetched.bytes), sha256(bytes), "{name}");
        ids.push(id);
    }
    assert_eq!(bucket(&moto).await?, (2, 0));

    // Too large: 413, and the bucket holds what it held (no key, no open upload).
    let big = vec![1u8; 8 * 1024 * 1024 + 1];
    let reply = post_multipart(
        &admin,
        "/v1.0/files",
        multipart(&[file_part("big.bin", "application/octet-stream", &big)]),
    )
    .await?;
    reply.assert_error(413, "FILE_TOO_LARGE");
    // A body cut short after more than a part.
    let mut cut = multipart(&[file_part("cut.bin", "application/octet-stream", &large)]);
    cut.truncate(5_500_000);
    post_multipart(&admin, "/v1.0/files", cut)
        .await?
        .assert_error(400, "INCOMPLETE_UPLOAD");
    let mut state = (0, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        state = bucket(&moto).await?;
        if state == (2, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        state,
        (2, 0),
        "keys and open multipart uploads after the failures"
    );

    // Deleting removes the objects.
    for id in &ids {
        admin
            .call(reqwest::Method::DELETE, &format!("/v1.0/files/{id}"), None)
            .await?
            .expect(200)?;
        assert_eq!(
            fetch(
                &cluster.edge,
                admin.token.as_deref(),
                &format!("/v1.0/files/{id}/file")
            )
            .await?
            .status,
            404
        );
    }
    assert_eq!(bucket(&moto).await?, (0, 0));
    cluster.stop().await;
    Ok(())
}
