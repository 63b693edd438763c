//! Upload, list, get, download, delete, and who may read a file.

use serde_json::Value;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

use super::{download, fetch, files_under, sha256, signed_url, upload};

const SERVICES: Topology = Topology::Services { nats_url: None };

fn id(file: &Value) -> String {
    file["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_list_get_download_and_delete_on_postgres_and_nats() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (_, bob) = admin.create_agent("bob", "Bob").await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let file = upload(&alice, "report.bin", "application/octet-stream", &bytes).await?;

    // VoIPBIN's StorageManagerFile shape, plus what was sniffed and hashed.
    for key in [
        "id",
        "customer_id",
        "owner_type",
        "owner_id",
        "reference_type",
        "reference_id",
        "type",
        "name",
        "detail",
        "filename",
        "filesize",
        "uri_download",
        "tm_download_expire",
        "tm_create",
        "tm_update",
        "tm_delete",
    ] {
        assert!(file.get(key).is_some(), "{key} in {file}");
    }
    assert_eq!(file["owner_type"], "agent");
    assert_eq!(file["owner_id"], alice_id.as_str());
    assert_eq!(file["type"], "talk");
    assert_eq!(file["filename"], "report.bin");
    assert_eq!(file["name"], "report.bin");
    assert_eq!(file["filesize"], bytes.len());
    assert_eq!(file["sha256"], sha256(&bytes));
    assert_eq!(file["mime_type"], "application/octet-stream");
    assert!(file["tm_delete"].is_null());
    let file_id = id(&file);

    // Listed for its uploader, and for an admin of the customer; nobody else.
    let listed = alice.get("/v1.0/service_agents/files").await?;
    assert_eq!(
        listed["result"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["result"][0]["id"], file_id.as_str());
    assert!(
        listed["next_page_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let seen_by_admin = admin.get("/v1.0/files").await?;
    assert_eq!(seen_by_admin["result"][0]["id"], file_id.as_str());
    assert_eq!(
        bob.get("/v1.0/service_agents/files").await?["result"],
        serde_json::json!([])
    );
    assert_eq!(
        zora.get("/v1.0/service_agents/files").await?["result"],
        serde_json::json!([])
    );
    let got = alice
        .get(&format!("/v1.0/service_agents/files/{file_id}"))
        .await?;
    assert_eq!(got["sha256"], file["sha256"]);

    // The 307 leads to the bytes, byte for byte, served as an attachment.
    let path = format!("/v1.0/service_agents/files/{file_id}/file");
    let fetched = download(&alice, &path).await?;
    assert_eq!(fetched.status, 200);
    assert_eq!(sha256(&fetched.bytes), sha256(&bytes));
    assert_eq!(
        fetched.headers["content-length"],
        bytes.len().to_string().as_str()
    );
    assert_eq!(fetched.headers["x-content-type-options"], "nosniff");
    let disposition = fetched.headers["content-disposition"].to_str()?;
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    // uri_download in the answer is a signed URL that works too.
    let direct = fetch(
        &cluster.edge,
        None,
        file["uri_download"].as_str().unwrap_or_default(),
    )
    .await?;
    assert_eq!(sha256(&direct.bytes), sha256(&bytes));
    // The seed-style alias.
    let seed = download(&alice, &format!("/v1.0/files/{file_id}/file")).await?;
    assert_eq!(seed.bytes.len(), bytes.len());

    // Another agent of the customer, not in any talk where it was posted,
    // and an agent of another customer: not found, on every route.
    for stranger in [&bob, &zora] {
        stranger
            .call(
                reqwest::Method::GET,
                &format!("/v1.0/service_agents/files/{file_id}"),
                None,
            )
            .await?
            .assert_error(404, "FILE_NOT_FOUND");
        let redirect = fetch(&cluster.edge, stranger.token.as_deref(), &path).await?;
        assert_eq!(redirect.status, 404);
        stranger
            .call(
                reqwest::Method::DELETE,
                &format!("/v1.0/files/{file_id}"),
                None,
            )
            .await?
            .assert_error(404, "FILE_NOT_FOUND");
    }
    // Alice's signed URL altered to name Bob, or to live longer: refused.
    let location = signed_url(&alice, &path).await?;
    let bob_id = bob.get("/v1.0/me").await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let as_bob = location.replace(&alice_id, &bob_id);
    assert_eq!(fetch(&cluster.edge, None, &as_bob).await?.status, 403);
    let later = regex_replace_expires(&location);
    assert_eq!(fetch(&cluster.edge, None, &later).await?.status, 403);
    let unsigned = location
        .split("&signature=")
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(fetch(&cluster.edge, None, &unsigned).await?.status, 403);
    // Without a token, the 307 itself is refused.
    assert_eq!(fetch(&cluster.edge, None, &path).await?.status, 401);

    // Bob may not delete it; Alice may. It is gone from the list, the store
    // and every URL, the old signed one included.
    let deleted = alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/service_agents/files/{file_id}"),
            None,
        )
        .await?
        .expect(200)?;
    assert!(deleted["tm_delete"].is_string(), "{deleted}");
    assert_eq!(
        alice.get("/v1.0/service_agents/files").await?["result"],
        serde_json::json!([])
    );
    assert_eq!(fetch(&cluster.edge, None, &location).await?.status, 404);
    assert_eq!(
        fetch(&cluster.edge, alice.token.as_deref(), &path)
            .await?
            .status,
        404
    );
    let dir = std::path::PathBuf::from(&cluster.config.file_dir);
    assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
    cluster.stop().await;
    Ok(())
}

/// The URL with its `expires` a day later (the signature no longer matches).
fn regex_replace_expires(url: &str) -> String {
    let Some(start) = url.find("expires=") else {
        return url.to_owned();
    };
    let rest = &url[start + "expires=".len()..];
    let end = rest.find('&').unwrap_or(rest.len());
    let expires: i64 = rest[..end].parse().unwrap_or(0);
    format!(
        "{}expires={}{}",
        &url[..start],
        expires + 86_400,
        &rest[end..]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_url_stops_working_when_it_expires() -> anyhow::Result<()> {
    let cluster = Cluster::start_with(SERVICES, |config| config.file_url_ttl_secs = 1).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let file = upload(&admin, "a.txt", "text/plain", b"short-lived").await?;
    let location = signed_url(&admin, &format!("/v1.0/files/{}/file", id(&file))).await?;
    let first = fetch(&cluster.edge, None, &location).await?;
    // Served while valid (unless this machine took over a second already).
    assert!(
        first.status == 200 || first.status == 403,
        "{}",
        first.status
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = fetch(&cluster.edge, None, &location).await?;
        if answer.status == 403 {
            let body: Value = serde_json::from_slice(&answer.bytes)?;
            assert_eq!(body["error"]["reason"], "INVALID_DOWNLOAD_URL", "{body}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the URL never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A fresh URL works again.
    let again = super::download(&admin, &format!("/v1.0/files/{}/file", id(&file))).await?;
    assert_eq!(again.bytes, b"short-lived");
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_stores_under_its_data_directory_and_serves_downloads()
-> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Embedded).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let bytes = b"hello from the embedded default".repeat(1000);
    let file = upload(&admin, "hello.txt", "text/plain", &bytes).await?;
    assert_eq!(file["mime_type"], "text/plain");
    let stored = files_under(&cluster.config.data_dir.join("files"));
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0])?, bytes);
    let fetched = download(
        &admin,
        &format!("/v1.0/service_agents/files/{}/file", id(&file)),
    )
    .await?;
    assert_eq!(fetched.bytes, bytes);
    assert!(
        fetched.headers["content-disposition"]
            .to_str()?
            .starts_with("inline;")
    );
    cluster.stop().await;
    Ok(())
}
