//! Talk search: names of the talks the caller is in and the public ones.

use talk_e2e::Topology;

use super::{id, start, talk};

async fn talk_names_are_found(topology: Topology) -> anyhow::Result<()> {
    let (cluster, admin) = start(topology).await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, _) = admin.create_agent("carol", "Carol").await?;
    let mine = talk(&admin, "group", "Refund escalations", &[&bob_id]).await?;
    let public = talk(&admin, "talk", "Refund policy (public)", &[]).await?;
    let _hidden = talk(&admin, "group", "Refund secrets", &[&carol_id]).await?;
    let names = |page: &serde_json::Value| -> Vec<String> {
        page["result"]
            .as_array()
            .map(|all| all.iter().map(id).collect())
            .unwrap_or_default()
    };
    let page = bob.get("/v1.0/search/talks?q=REFUND").await?;
    assert_eq!(names(&page), vec![public.clone(), mine.clone()]);
    assert!(page["result"][0]["unread_count"].is_u64());
    let page = bob.get("/v1.0/search/talks?q=refund%20esc").await?;
    assert_eq!(names(&page), vec![mine.clone()]);
    let page = bob.get("/v1.0/search/talks?q=secrets").await?;
    assert_eq!(names(&page), Vec::<String>::new());
    let page = bob.get("/v1.0/search/talks?q=(public)").await?;
    assert_eq!(names(&page), vec![public]);
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_search_finds_names_of_readable_talks() -> anyhow::Result<()> {
    talk_names_are_found(Topology::Services { nats_url: None }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talk_search_finds_names_of_readable_talks_embedded() -> anyhow::Result<()> {
    talk_names_are_found(Topology::Embedded).await
}
