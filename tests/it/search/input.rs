//! Bad input: a clear 400 or an empty answer, never a 500, on both stores.

use reqwest::Method;
use talk_e2e::Topology;
use talk_e2e::client::assert_error;

use super::{encode, found, say, start, talk};

async fn bad_input_is_refused(topology: Topology) -> anyhow::Result<()> {
    let (cluster, admin) = start(topology).await?;
    let room = talk(&admin, "talk", "room", &[]).await?;
    let hit = say(
        &admin,
        &room,
        "parentheses (and) colons: back\\slash \"quotes\" star*",
    )
    .await?;
    let get = |path: String| {
        let admin = admin.clone();
        async move { admin.call(Method::GET, &path, None).await }
    };
    let base = "/v1.0/search/messages";
    assert_error(
        &get(base.to_owned()).await?,
        400,
        "MISSING_REQUEST_PARAMETER",
    );
    assert_error(
        &get(format!("{base}?q=")).await?,
        400,
        "MISSING_REQUEST_PARAMETER",
    );
    assert_error(
        &get(format!("{base}?q=%20%20")).await?,
        400,
        "MISSING_REQUEST_PARAMETER",
    );
    let long = "refund ".repeat(1_430);
    assert_error(
        &get(format!("{base}?q={}", encode(&long))).await?,
        400,
        "INVALID_REQUEST_PARAMETER",
    );
    let unknown = get(format!("{base}?q=a&colour=red")).await?;
    assert_error(&unknown, 400, "INVALID_REQUEST_PARAMETER");
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("colour")
    );
    for bad in [
        "talk_id=nope",
        "author_id=12",
        "before=yesterday",
        "after=2026-13-45",
        "has_file=maybe",
        "in_thread=2",
        "sort=oldest",
        "page_size=many",
        "page_token=garbage",
        "sort=relevance&page_token=n1_x",
    ] {
        let reply = get(format!("{base}?q=a&{bad}")).await?;
        assert_eq!(reply.status.as_u16(), 400, "{bad}: {}", reply.body);
    }
    // Syntax characters of either store's query language: 200, never 500.
    for q in [
        "\"",
        "(",
        ")",
        ":",
        "*",
        "\\",
        "'",
        "&",
        "|",
        "!",
        "-",
        "^",
        "NOT",
        "AND",
        "OR",
        "NEAR(",
        "a:*",
        "\"unclosed",
        "((a)",
        "a & | b",
        "!!a",
        "<->",
        "a <-> b",
        "'a':*",
        "\\\\\"",
        "col:umn",
        "*star",
        "%",
        "_",
        "%_\\",
        "\0",
    ] {
        let reply = get(format!("{base}?q={}", encode(q))).await?;
        assert_eq!(reply.status.as_u16(), 200, "{q:?}: {}", reply.body);
    }
    // They are separators: the words around them are still found.
    assert_eq!(
        found(&admin, "(parentheses) colons:", "").await?,
        vec![hit.clone()]
    );
    assert_eq!(found(&admin, "back\\slash", "").await?, vec![hit.clone()]);
    assert_eq!(
        found(&admin, "\"quotes\" sta*", "").await?,
        vec![hit.clone()]
    );
    // A query of separators only finds nothing, calmly.
    let page = super::search_page(&admin, "*:()", "").await?;
    assert_eq!(page["result"], serde_json::json!([]));
    // Talk search: the same care.
    assert_error(
        &get("/v1.0/search/talks".into()).await?,
        400,
        "MISSING_REQUEST_PARAMETER",
    );
    assert_error(
        &get("/v1.0/search/talks?q=a&x=1".into()).await?,
        400,
        "INVALID_REQUEST_PARAMETER",
    );
    assert_error(
        &get(format!("/v1.0/search/talks?q={}", "a".repeat(10_000))).await?,
        400,
        "INVALID_REQUEST_PARAMETER",
    );
    for q in ["%25", "_", "\\", "'", "\""] {
        let reply = get(format!("/v1.0/search/talks?q={q}")).await?;
        assert_eq!(reply.status.as_u16(), 200, "{q}: {}", reply.body);
    }
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_input_is_a_400_or_an_empty_answer() -> anyhow::Result<()> {
    bad_input_is_refused(Topology::Services { nats_url: None }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_input_is_a_400_or_an_empty_answer_embedded() -> anyhow::Result<()> {
    bad_input_is_refused(Topology::Embedded).await
}
