//! Attaching uploaded files to messages by id.

use std::time::Duration;

use serde_json::{Value, json};
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket, Topology};

use super::{download, fetch, sha256, upload};

const SERVICES: Topology = Topology::Services { nats_url: None };

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_carries_its_files_and_its_talk_may_download_them() -> anyhow::Result<()> {
    let cluster = Cluster::start(SERVICES).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (_, carol) = admin.create_agent("carol", "Carol").await?;
    let zora = cluster.other_customer("zora", "Zora").await?;
    let talk = alice
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": "files", "participant_ids": [bob_id]}),
            201,
        )
        .await?;
    let talk_id = text(&talk, "id");
    let mut socket = Socket::listen(
        &cluster.push,
        bob.token.as_deref().unwrap_or_default(),
        &bob_id,
        "",
    )
    .await?;
    let bytes = b"%PDF-1.4 not really a pdf, but the magic bytes say so".to_vec();
    let file = upload(&alice, "../minutes\u{85}.pdf", "application/pdf", &bytes).await?;
    let file_id = text(&file, "id");
    assert_eq!(file["filename"], "minutes.pdf");
    assert_eq!(file["mime_type"], "application/pdf");

    // VoIPBIN's path: the media names the file; the answer resolves it.
    let posted = alice
        .post(
            "/v1.0/service_agents/talk_messages",
            json!({"chat_id": talk_id, "type": "normal", "text": "minutes attached",
                   "medias": [{"type": "file", "file_id": file_id}]}),
            200,
        )
        .await?;
    let media = &posted["medias"][0];
    assert_eq!(media["type"], "file");
    assert_eq!(media["file_id"], file_id.as_str());
    assert_eq!(media["file"]["name"], "minutes.pdf");
    assert_eq!(media["file"]["size"], bytes.len());
    assert_eq!(media["file"]["mime_type"], "application/pdf");
    let uri = text(&media["file"], "uri_download");
    assert_eq!(uri, format!("/v1.0/service_agents/files/{file_id}/file"));

    // message_created carries the same, so a client shows it at once.
    let message_id = text(&posted, "id");
    let frame = loop {
        let frame = socket
            .expect("message_created", Duration::from_secs(30))
            .await?;
        if frame["data"]["id"] == message_id.as_str() {
            break frame;
        }
    };
    assert_eq!(frame["data"]["medias"][0]["file"], media["file"], "{frame}");

    // Bob, a participant, reads the message and downloads the file.
    let read = bob
        .get(&format!("/v1.0/service_agents/talk_messages/{message_id}"))
        .await?;
    assert_eq!(read["medias"][0]["file"], media["file"]);
    let fetched = download(&bob, &uri).await?;
    assert_eq!(sha256(&fetched.bytes), sha256(&bytes));
    let got = bob
        .get(&format!("/v1.0/service_agents/files/{file_id}"))
        .await?;
    assert_eq!(got["id"], file_id.as_str());
    // Carol (not in the talk) and Zora (another customer) cannot.
    for stranger in [&carol, &zora] {
        let answer = fetch(&cluster.edge, stranger.token.as_deref(), &uri).await?;
        assert_eq!(answer.status, 404);
    }
    // Bob leaves: his access goes with his membership (checked on every request).
    bob.call(
        reqwest::Method::POST,
        &format!("/v1.0/talks/{talk_id}/leave"),
        None,
    )
    .await?
    .expect(200)?;
    assert_eq!(
        fetch(&cluster.edge, bob.token.as_deref(), &uri)
            .await?
            .status,
        404
    );

    // Bad file ids: 400 naming the id, nothing posted.
    let forged = uuid::Uuid::new_v4().to_string();
    let zoras = upload(&zora, "z.txt", "text/plain", b"zora's").await?;
    let carols = upload(&carol, "c.txt", "text/plain", b"carol's").await?;
    let gone = upload(&alice, "gone.txt", "text/plain", b"deleted").await?;
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/files/{}", text(&gone, "id")),
            None,
        )
        .await?
        .expect(200)?;
    for bad in [
        forged,
        text(&zoras, "id"),
        text(&carols, "id"),
        text(&gone, "id"),
    ] {
        let reply = alice
            .call(
                reqwest::Method::POST,
                &format!("/v1.0/talks/{talk_id}/messages"),
                Some(json!({"text": "x", "medias": [{"type": "file", "file_id": bad}]})),
            )
            .await?;
        reply.assert_error(400, "INVALID_FILE_ID");
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&bad),
            "{}",
            reply.body
        );
    }
    let not_uuid = alice
        .call(
            reqwest::Method::POST,
            &format!("/v1.0/talks/{talk_id}/messages"),
            Some(json!({"text": "x", "medias": [{"type": "file", "file_id": "nope"}]})),
        )
        .await?;
    not_uuid.assert_error(400, "INVALID_ID");
    // Nothing of the refused posts was written.
    let messages = alice
        .get(&format!("/v1.0/talks/{talk_id}/messages"))
        .await?;
    let texts: Vec<&str> = messages["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(!texts.contains(&"x"), "{texts:?}");

    // Deleting the message leaves the file (it is Alice's, and may be
    // attached elsewhere); deleting the file makes the media's URL 404.
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/messages/{message_id}"),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(download(&alice, &uri).await?.bytes, bytes);
    alice
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/files/{file_id}"),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(
        fetch(&cluster.edge, alice.token.as_deref(), &uri)
            .await?
            .status,
        404
    );
    cluster.stop().await;
    Ok(())
}
