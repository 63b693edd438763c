//! Who finds what: never another customer's messages, nor a deleted talk's.

use talk_e2e::Topology;

use super::{found, say, start, talk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_messages_are_never_found() -> anyhow::Result<()> {
    let (cluster, admin) = start(Topology::Services { nats_url: None }).await?;
    let other = cluster.other_customer("other-admin", "Other admin").await?;
    let mine = talk(&admin, "talk", "ours", &[]).await?;
    let theirs = talk(&other, "talk", "theirs", &[]).await?;
    let our_message = say(&admin, &mine, "zebra crossing").await?;
    let their_message = say(&other, &theirs, "zebra crossing").await?;
    assert_eq!(found(&admin, "zebra", "").await?, vec![our_message.clone()]);
    assert_eq!(found(&other, "zebra", "").await?, vec![their_message]);
    // Naming the other customer's talk finds nothing either.
    assert!(
        found(&admin, "zebra", &format!("talk_id={theirs}"))
            .await?
            .is_empty()
    );
    cluster.stop().await;
    Ok(())
}

async fn deleted_talks_are_not_searched(topology: Topology) -> anyhow::Result<()> {
    let (cluster, admin) = start(topology).await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let gone = talk(&admin, "group", "gone", &[&bob_id]).await?;
    say(&admin, &gone, "walrus").await?;
    assert_eq!(found(&bob, "walrus", "").await?.len(), 1);
    admin
        .call(
            reqwest::Method::DELETE,
            &format!("/v1.0/talks/{gone}"),
            None,
        )
        .await?
        .expect(200)?;
    assert!(found(&bob, "walrus", "").await?.is_empty());
    assert!(found(&admin, "walrus", "").await?.is_empty());
    cluster.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_talk_is_not_searched() -> anyhow::Result<()> {
    deleted_talks_are_not_searched(Topology::Services { nats_url: None }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_talk_is_not_searched_embedded() -> anyhow::Result<()> {
    deleted_talks_are_not_searched(Topology::Embedded).await
}
