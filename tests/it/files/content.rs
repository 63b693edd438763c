//! What is stored: sniffed types, dangerous types as attachments,
//! thumbnails, the customer's quota, and orphans.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

use super::{download, file_part, multipart, post_multipart, sha256, upload};

const SERVICES: Topology = Topology::Services { nats_url: None };

fn picture(width: u32, height: u32, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format)?;
    Ok(out.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_are_sniffed_dangerous_ones_are_attachments_and_images_get_thumbnails()
-> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;

    // HTML declared as a PNG: sniffed as text, served as text/html? No: the
    // bytes are not an image, so it is text; declared HTML stays HTML and is
    // always an attachment, never rendered.
    let html = upload(
        &admin,
        "page.html",
        "text/html",
        b"<html><script>alert(1)</script></html>",
    )
    .await?;
    assert_eq!(html["mime_type"], "text/html");
    let served = download(
        &admin,
        &format!(
            "/v1.0/files/{}/file",
            html["id"].as_str().unwrap_or_default()
        ),
    )
    .await?;
    assert_eq!(served.headers["content-type"], "text/html");
    assert!(
        served.headers["content-disposition"]
            .to_str()?
            .starts_with("attachment;")
    );
    assert_eq!(served.headers["x-content-type-options"], "nosniff");
    assert!(
        served.headers["content-security-policy"]
            .to_str()?
            .contains("sandbox")
    );
    assert!(html.get("uri_thumbnail").is_none(), "{html}");

    // A PNG declared as text: the bytes win.
    for (format, mime, name) in [
        (ImageFormat::Png, "image/png", "chart.png"),
        (ImageFormat::Jpeg, "image/jpeg", "photo.jpg"),
    ] {
        let bytes = picture(1200, 800, format)?;
        let file = upload(&admin, name, "text/plain", &bytes).await?;
        assert_eq!(file["mime_type"], mime, "{file}");
        let id = file["id"].as_str().unwrap_or_default().to_owned();
        let original = download(&admin, &format!("/v1.0/service_agents/files/{id}/file")).await?;
        assert_eq!(sha256(&original.bytes), sha256(&bytes));
        assert!(
            original.headers["content-disposition"]
                .to_str()?
                .starts_with("inline;")
        );
        let thumbnail_uri = file["uri_thumbnail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            thumbnail_uri,
            format!("/v1.0/service_agents/files/{id}/thumbnail")
        );
        let thumbnail = download(&admin, &thumbnail_uri).await?;
        assert_eq!(thumbnail.status, 200);
        assert_eq!(thumbnail.headers["content-type"], "image/png");
        let decoded = image::load_from_memory(&thumbnail.bytes)?;
        assert_eq!((decoded.width(), decoded.height()), (320, 213), "{name}");
    }
    // A text file has no thumbnail.
    let reply = admin
        .call(
            reqwest::Method::GET,
            &format!(
                "/v1.0/files/{}/thumbnail",
                html["id"].as_str().unwrap_or_default()
            ),
            None,
        )
        .await?;
    reply.assert_error(404, "NO_THUMBNAIL");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customers_quota_holds_and_deleting_frees_it() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| config.file_quota_bytes = 10_000).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let first = upload(&alice, "a.bin", "application/octet-stream", &[1u8; 6_000]).await?;
    // The customer's quota, whoever uploads.
    let reply = post_multipart(
        &admin,
        "/v1.0/files",
        multipart(&[file_part(
            "b.bin",
            "application/octet-stream",
            &[2u8; 6_000],
        )]),
    )
    .await?;
    reply.assert_error(413, "FILE_QUOTA_EXCEEDED");
    assert_eq!(
        admin.get("/v1.0/files").await?["result"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    upload(&admin, "c.bin", "application/octet-stream", &[3u8; 4_000]).await?;
    let full = post_multipart(
        &admin,
        "/v1.0/files",
        multipart(&[file_part("d.bin", "text/plain", b"x")]),
    )
    .await?;
    full.assert_error(413, "FILE_QUOTA_EXCEEDED");
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/files/{}", first["id"].as_str().unwrap_or_default()),
            None,
        )
        .await?
        .expect(200)?;
    upload(&admin, "e.bin", "application/octet-stream", &[4u8; 6_000]).await?;
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_never_attached_are_collected_and_attached_ones_kept() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let orphan = upload(&admin, "orphan.txt", "text/plain", b"never attached").await?;
    let kept = upload(&admin, "kept.txt", "text/plain", b"attached").await?;
    let (bob_id, _) = admin.create_agent("bob", "Bob").await?;
    let talk = admin
        .post(
            "/v1.0/talks",
            serde_json::json!({"type": "group", "name": "t", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    admin
        .post(
            &format!(
                "/v1.0/talks/{}/messages",
                talk["id"].as_str().unwrap_or_default()
            ),
            serde_json::json!({"text": "", "medias": [{"type": "file", "file_id": kept["id"]}]}),
            201,
        )
        .await?;
    // The sweep with a cutoff in the future (the periodic one uses a day ago).
    let internal = talk_runtime::Internal::from_config("test", &cluster.config);
    let mut files = talk_proto::file_service_client::FileServiceClient::new(talk_runtime::channel(
        &cluster.config.file_service_url,
        &internal,
    )?);
    let future = (chrono_like_now_micros()) + 60_000_000;
    let collected = files
        .collect_orphans(talk_proto::CollectOrphansRequest {
            before_micros: future,
        })
        .await?
        .into_inner();
    assert_eq!(collected.collected, 1);
    let left = admin.get("/v1.0/files").await?;
    let ids: Vec<&str> = left["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, vec![kept["id"].as_str().unwrap_or_default()]);
    assert_ne!(orphan["id"], kept["id"]);
    let dir = std::path::PathBuf::from(&cluster.config.file_dir);
    assert_eq!(super::files_under(&dir).len(), 1);
    cluster.stop().await;
    Ok(())
}

fn chrono_like_now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}
