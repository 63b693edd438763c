//! Creation rules of every type, direct-pair de-duplication, unknown agents.

use talk_proto::{CreateTalkRequest, ListTalksRequest, ParticipantRef};
use talk_types::{AgentId, ErrorKind};

use crate::support::{Env, agent_ref, err};

#[tokio::test]
async fn every_type_follows_its_creation_rules() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;

    // Inferred: creator + one other → direct; creator + two → group.
    let direct = env.create(&a, "", None, &[&b]).await.expect("direct");
    assert!(direct.created);
    let direct = direct.talk.expect("talk");
    assert_eq!(direct.r#type, "direct");
    assert_eq!(direct.member_count, 2);
    assert_eq!(direct.state, "active");
    let group = env.talk(&a, "", &[&b, &c]).await;
    assert_eq!(group.r#type, "group");
    assert_eq!(group.member_count, 3);

    // Creator listed again and duplicates collapse.
    let group = env.talk(&a, "group", &[&a, &b, &b]).await;
    assert_eq!(group.member_count, 2);
    assert_eq!(group.r#type, "group");

    // A public channel needs nobody else.
    let channel = env
        .create(&a, "talk", Some("general"), &[])
        .await
        .expect("channel")
        .talk
        .expect("talk");
    assert_eq!(channel.r#type, "talk");
    assert_eq!(channel.name, "general");
    assert_eq!(channel.member_count, 1);
    assert_eq!(channel.customer_id, a.customer_id);
    assert!(channel.tm_create > 0 && channel.tm_delete == 0);

    // Direct needs exactly one other agent.
    let e = err(env.create(&a, "direct", None, &[&b, &c]).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::InvalidArgument, "INVALID_PARTICIPANTS")
    );
    let e = err(env.create(&a, "direct", None, &[]).await);
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let e = err(env.create(&a, "direct", None, &[&a]).await);
    assert_eq!(e.kind, ErrorKind::InvalidArgument);

    // Bad input of every kind.
    let e = err(env.create(&a, "channel", None, &[]).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::InvalidArgument, "INVALID_TYPE")
    );
    let long = "x".repeat(256);
    let e = err(env.create(&a, "group", Some(&long), &[]).await);
    assert_eq!(e.reason, "FIELD_TOO_LONG");
    assert!(e.message.contains("name"), "{}", e.message);
    let ok_name = "é".repeat(255);
    env.create(&a, "group", Some(&ok_name), &[])
        .await
        .expect("255 characters are fine");
    let request = |detail: String, participants: Vec<ParticipantRef>| {
        talk_runtime::grpc::acting(
            a.clone(),
            CreateTalkRequest {
                options: None,
                r#type: "group".into(),
                name: None,
                detail: Some(detail),
                participants,
            },
        )
    };
    let e = err(env.create_request(request("d".repeat(4097), vec![])).await);
    assert_eq!(e.reason, "FIELD_TOO_LONG");
    assert!(e.message.contains("detail"), "{}", e.message);
    let e = err(env
        .create_request(request(String::new(), vec![agent_ref("nope")]))
        .await);
    assert_eq!(e.reason, "INVALID_ID");
    assert!(e.message.contains("owner_id"), "{}", e.message);
    let bot = ParticipantRef {
        owner_type: "bot".into(),
        owner_id: b.agent_id.clone(),
    };
    let e = err(env.create_request(request(String::new(), vec![bot])).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::InvalidArgument, "INVALID_OWNER_TYPE")
    );
    let untyped = ParticipantRef {
        owner_type: String::new(),
        owner_id: b.agent_id.clone(),
    };
    let talk = env
        .create_request(request(String::new(), vec![untyped]))
        .await
        .expect("empty owner_type means agent");
    assert_eq!(talk.talk.expect("talk").member_count, 2);
    let e = err(env
        .create_request(tonic::Request::new(
            request(String::new(), vec![]).into_inner(),
        ))
        .await);
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
    env.stop().await;
}

#[tokio::test]
async fn unknown_agents_are_named_and_nothing_is_created() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let other_admin = env.other_customer().await;
    let stranger = env.agent(&other_admin).await;
    let mut events = env.events().await;

    let ghost = AgentId::new().to_string();
    for (kind, others) in [
        ("group", vec![agent_ref(&b.agent_id), agent_ref(&ghost)]),
        ("direct", vec![agent_ref(&stranger.agent_id)]),
        ("", vec![agent_ref(&ghost), agent_ref(&stranger.agent_id)]),
    ] {
        let e = err(env
            .create_request(talk_runtime::grpc::acting(
                a.clone(),
                CreateTalkRequest {
                    options: None,
                    r#type: kind.into(),
                    name: None,
                    detail: None,
                    participants: others.clone(),
                },
            ))
            .await);
        assert_eq!(
            (e.kind, e.reason.as_ref()),
            (ErrorKind::InvalidArgument, "UNKNOWN_AGENT")
        );
        for missing in others.iter().filter(|r| r.owner_id != b.agent_id) {
            assert!(e.message.contains(&missing.owner_id), "{}", e.message);
        }
        assert!(!e.message.contains(&b.agent_id), "{}", e.message);
    }
    for who in [&a, &b] {
        let page = env
            .talks
            .clone()
            .list_talks(talk_runtime::grpc::acting(
                who.clone(),
                ListTalksRequest { page: None },
            ))
            .await
            .expect("list")
            .into_inner();
        assert!(page.talks.is_empty());
    }
    // The first event published is the marker's: the failures published nothing.
    let marker = env.talk(&a, "talk", &[]).await;
    let first = crate::support::next_events(&mut events, 1).await;
    match &first[0].1 {
        talk_events::Payload::Participant(p) => assert_eq!(p.chat_id, marker.id),
        other => panic!("unexpected first event {other:?}"),
    }
    env.stop().await;
}

#[tokio::test]
async fn direct_talks_are_deduplicated_per_pair() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;

    let first = env.create(&a, "direct", None, &[&b]).await.expect("first");
    assert!(first.created);
    let first = first.talk.expect("talk");
    // Either side, with or without the creator listed, gets the same talk.
    let again = env.create(&b, "direct", None, &[&a]).await.expect("again");
    assert!(!again.created);
    assert_eq!(again.talk.expect("talk").id, first.id);
    let again = env.create(&a, "", None, &[&a, &b]).await.expect("inferred");
    assert!(!again.created);
    assert_eq!(again.talk.expect("talk").id, first.id);
    // Another pair is another talk.
    let other = env
        .create(&a, "direct", None, &[&c])
        .await
        .expect("other pair");
    assert!(other.created);
    assert_ne!(other.talk.expect("talk").id, first.id);

    // Concurrent creates of a new pair give one talk.
    let d = env.agent(&env.admin).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (client, a, d) = (env.talks.clone(), a.clone(), d.clone());
        tasks.push(tokio::spawn(async move {
            let (by, other) = if i % 2 == 0 { (a, d) } else { (d, a) };
            let mut client = client;
            client
                .create_talk(talk_runtime::grpc::acting(
                    by,
                    CreateTalkRequest {
                        options: None,
                        r#type: "direct".into(),
                        name: None,
                        detail: None,
                        participants: vec![agent_ref(&other.agent_id)],
                    },
                ))
                .await
                .expect("create")
                .into_inner()
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let response = task.await.expect("join");
        created += usize::from(response.created);
        ids.push(response.talk.expect("talk").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one talk for the pair");
    assert_eq!(created, 1);

    // After a delete, the pair starts a new talk.
    env.talks
        .clone()
        .delete_talk(crate::support::write(&a, &first.id))
        .await
        .expect("delete");
    let fresh = env.create(&b, "direct", None, &[&a]).await.expect("fresh");
    assert!(fresh.created);
    assert_ne!(fresh.talk.expect("talk").id, first.id);
    env.stop().await;
}
