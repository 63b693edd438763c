//! Who may see what: outsiders are refused, other customers see nothing.

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::assert_error;

use super::{
    counts, encode, group, id, listing, message, react, results, say, start, tally, text, texts,
};

/// A non-participant can neither read a private talk nor post nor react
/// (403); in a public talk they read but must join to write. Another
/// customer's agent sees nothing at all (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_are_refused_and_other_customers_see_nothing() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (_, dave) = admin.create_agent("dave", "Dave").await?;
    let private = group(&alice, "private", &[&bob_id]).await?;
    let secret = id(&say(&alice, &private, "the secret plan").await?);
    react(&bob, &secret, "👀").await?;
    let public = alice
        .post(
            "/v1.0/talks",
            json!({"type": "talk", "name": "announcements"}),
            201,
        )
        .await?;
    let public = id(&public);
    let welcome = id(&say(&alice, &public, "Welcome, everyone").await?);

    let tries = |talk: &str, msg: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (Method::GET, format!("/v1.0/talks/{talk}/messages"), None),
            (
                Method::GET,
                format!("/v1.0/talks/{talk}/messages?after_seq=0"),
                None,
            ),
            (
                Method::GET,
                format!("/v1.0/service_agents/talk_messages?chat_id={talk}"),
                None,
            ),
            (Method::GET, format!("/v1.0/messages/{msg}"), None),
            (
                Method::GET,
                format!("/v1.0/service_agents/talk_messages/{msg}"),
                None,
            ),
            (Method::GET, format!("/v1.0/messages/{msg}/thread"), None),
            (Method::GET, format!("/v1.0/messages/{msg}/history"), None),
            (
                Method::POST,
                format!("/v1.0/talks/{talk}/read"),
                Some(json!({"seq": 1})),
            ),
        ]
    };
    let writes = |talk: &str, msg: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (
                Method::POST,
                format!("/v1.0/talks/{talk}/messages"),
                Some(json!({"text": "let me in"})),
            ),
            (
                Method::POST,
                "/v1.0/service_agents/talk_messages".to_owned(),
                Some(json!({"chat_id": talk, "type": "normal", "text": "let me in"})),
            ),
            (
                Method::POST,
                format!("/v1.0/messages/{msg}/reactions"),
                Some(json!({"emoji": "👍"})),
            ),
            (
                Method::POST,
                format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
                Some(json!({"emoji": "👍"})),
            ),
            (
                Method::DELETE,
                format!("/v1.0/messages/{msg}/reactions/{}", encode("👀")),
                None,
            ),
            (
                Method::PUT,
                format!("/v1.0/messages/{msg}"),
                Some(json!({"text": "rewritten"})),
            ),
            (Method::DELETE, format!("/v1.0/messages/{msg}"), None),
        ]
    };

    // Dave, same customer, not in the private talk: 403 for everything.
    for (method, path, body) in tries(&private, &secret)
        .into_iter()
        .chain(writes(&private, &secret))
    {
        let reply = dave.call(method.clone(), &path, body).await?;
        assert_eq!(
            reply.status.as_u16(),
            403,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["status"], "PERMISSION_DENIED");
    }
    // In the public talk he reads, but must join to write.
    let read = results(&dave.get(&format!("/v1.0/talks/{public}/messages")).await?);
    assert_eq!(texts(&read), ["Welcome, everyone"]);
    assert_eq!(message(&dave, &welcome).await?["text"], "Welcome, everyone");
    for (method, path, body) in writes(&public, &welcome).into_iter().take(4) {
        let reply = dave.call(method.clone(), &path, body).await?;
        assert_eq!(
            reply.status.as_u16(),
            403,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["reason"], "PERMISSION_DENIED");
    }
    dave.post(&format!("/v1.0/talks/{public}/join"), json!({}), 200)
        .await?;
    say(&dave, &public, "Thanks!").await?;
    react(&dave, &welcome, "👋").await?;

    // Olga, admin of another customer: every talk and message of this one is a 404.
    let olga = cluster.other_customer("olga", "Olga").await?;
    for (talk, msg) in [(&private, &secret), (&public, &welcome)] {
        for (method, path, body) in tries(talk, msg).into_iter().chain(writes(talk, msg)) {
            let reply = olga.call(method.clone(), &path, body).await?;
            assert_eq!(
                reply.status.as_u16(),
                404,
                "{method} {path}: {}",
                reply.body
            );
            assert_eq!(reply.body["error"]["status"], "NOT_FOUND");
            let reason = reply.body["error"]["reason"].as_str().unwrap_or_default();
            assert!(
                reason == "TALK_NOT_FOUND" || reason == "MESSAGE_NOT_FOUND",
                "{reason}"
            );
        }
    }
    let join = olga
        .call(Method::POST, &format!("/v1.0/talks/{public}/join"), None)
        .await?;
    assert_error(&join, 404, "TALK_NOT_FOUND");

    // Nothing the outsiders tried changed anything.
    let private_now = listing(&alice, &private).await?;
    assert_eq!(texts(&private_now), ["the secret plan"]);
    assert_eq!(tally(&private_now[0]), counts(&[("👀", 1)]));
    assert!(
        results(
            &alice
                .get(&format!("/v1.0/messages/{secret}/history"))
                .await?
        )
        .is_empty()
    );
    let public_now = listing(&alice, &public).await?;
    let normal: Vec<&Value> = public_now
        .iter()
        .filter(|m| m["type"] == "normal")
        .collect();
    assert_eq!(
        normal.iter().map(|m| text(m)).collect::<Vec<_>>(),
        ["Thanks!", "Welcome, everyone"]
    );
    assert_eq!(tally(normal[1]), counts(&[("👋", 1)]));
    cluster.stop().await;
    Ok(())
}
