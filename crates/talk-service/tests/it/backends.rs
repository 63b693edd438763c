//! The same service on the embedded SQLite store, and publishing to real NATS JetStream.

use talk_events::{EventKind, Payload};
use talk_proto::{ListTalksRequest, PageRequest};

use crate::support::{Env, Setup, next_events, write};

#[tokio::test]
async fn sqlite_store_keeps_the_same_rules() {
    let env = Env::start_with(Setup {
        sqlite: true,
        nats: false,
    })
    .await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;
    let direct = env.create(&a, "", None, &[&b]).await.expect("direct");
    assert!(direct.created);
    let again = env.create(&b, "direct", None, &[&a]).await.expect("again");
    assert!(!again.created);
    assert_eq!(again.talk, direct.talk);

    let channel = env.talk(&a, "talk", &[]).await;
    let joined = env.join(&c, &channel.id).await.expect("join");
    assert_eq!(
        env.join(&c, &channel.id).await.expect("again").id,
        joined.id
    );
    assert_eq!(env.get(&a, &channel.id).await.expect("get").member_count, 2);
    env.leave(&c, &channel.id).await.expect("leave");
    env.leave(&a, &channel.id).await.expect("leave");
    let closed = env.get(&b, &channel.id).await.expect("public");
    assert_eq!((closed.state.as_str(), closed.member_count), ("closed", 0));

    for _ in 0..4 {
        env.talk(&a, "group", &[&b]).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = env
            .talks
            .clone()
            .list_talks(talk_runtime::grpc::acting(
                b.clone(),
                ListTalksRequest {
                    page: Some(PageRequest {
                        page_size: 2,
                        page_token: token,
                    }),
                },
            ))
            .await
            .expect("page")
            .into_inner();
        if page.talks.is_empty() {
            break;
        }
        seen.extend(page.talks.into_iter().map(|t| t.id));
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5, "four groups and the direct talk");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5);
    env.stop().await;
}

#[tokio::test]
async fn events_reach_nats_jetstream_in_order() {
    let env = Env::start_with(Setup {
        sqlite: false,
        nats: true,
    })
    .await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let mut events = env.events().await;
    let talk = env.talk(&a, "group", &[&b]).await;
    env.talks
        .clone()
        .close_talk(write(&a, &talk.id))
        .await
        .expect("close");
    let got = next_events(&mut events, 4).await;
    let kinds: Vec<_> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ParticipantJoined,
            EventKind::ParticipantJoined,
            EventKind::TalkCreated,
            EventKind::TalkClosed
        ]
    );
    match &got[3].1 {
        Payload::Talk(t) => assert_eq!(
            (t.id.as_str(), t.state.as_str()),
            (talk.id.as_str(), "closed")
        ),
        other => panic!("unexpected payload {other:?}"),
    }
    env.stop().await;
}
