//! Malformed input of every kind: a 400 that says what is wrong, and nothing changes.

use talk_proto::{Address, ListChangesRequest, Media, PostMessageRequest};

use crate::harness::{Harness, api, assert_err};

fn seed(kind: &str, url: &str, name: &str) -> Media {
    Media {
        r#type: kind.into(),
        url: Some(url.into()),
        name: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn malformed_posts_are_refused_and_change_nothing() {
    let h = Harness::start().await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let other_talk = h.talk("group", &[&alice]);
    let elsewhere = h.post(&alice, &other_talk, "elsewhere").await.unwrap();
    let base = PostMessageRequest {
        talk_id: talk.clone(),
        text: "hello".into(),
        ..Default::default()
    };
    let with = |f: &dyn Fn(&mut PostMessageRequest)| {
        let mut r = base.clone();
        f(&mut r);
        r
    };
    let cases: Vec<(PostMessageRequest, &str)> = vec![
        (with(&|r| r.talk_id = "not-a-uuid".into()), "INVALID_ID"),
        (with(&|r| r.parent_id = Some("123".into())), "INVALID_ID"),
        (
            with(&|r| r.parent_id = Some(elsewhere.id.clone())),
            "INVALID_PARENT",
        ),
        (
            with(&|r| r.r#type = "system".into()),
            "SYSTEM_MESSAGE_FORBIDDEN",
        ),
        (with(&|r| r.r#type = "shout".into()), "INVALID_TYPE"),
        (with(&|r| r.text = "x".repeat(20_001)), "TEXT_TOO_LONG"),
        (with(&|r| r.text = String::new()), "EMPTY_MESSAGE"),
        (with(&|r| r.text = "nul\0byte".into()), "INVALID_TEXT"),
        (
            with(&|r| r.medias = vec![seed("image/png", "https://a.example/x.png", "x"); 11]),
            "TOO_MANY_MEDIAS",
        ),
        (
            with(&|r| r.medias = vec![seed("image/png", "javascript:alert(1)", "x")]),
            "INVALID_URL",
        ),
        (
            with(&|r| r.medias = vec![seed("text/html", "data:text/html,<script>", "x")]),
            "INVALID_URL",
        ),
        (
            with(&|r| {
                r.medias = vec![seed(
                    "image/png",
                    "https://a.example/x.png",
                    &"n".repeat(256),
                )]
            }),
            "INVALID_MEDIA",
        ),
        (
            with(&|r| r.medias = vec![seed("png", "https://a.example/x.png", "x")]),
            "INVALID_MEDIA",
        ),
        (
            with(&|r| {
                r.medias = vec![Media {
                    r#type: "file".into(),
                    file_id: Some("nope".into()),
                    ..Default::default()
                }]
            }),
            "INVALID_ID",
        ),
        (
            with(&|r| {
                r.medias = vec![Media {
                    r#type: "link".into(),
                    ..Default::default()
                }]
            }),
            "INVALID_MEDIA",
        ),
        (
            with(&|r| {
                r.medias = vec![Media {
                    r#type: "link".into(),
                    link_url: Some("javascript:void(0)".into()),
                    ..Default::default()
                }]
            }),
            "INVALID_URL",
        ),
        (
            with(&|r| {
                r.medias = vec![Media {
                    r#type: "agent".into(),
                    agent_id: Some("bob".into()),
                    ..Default::default()
                }]
            }),
            "INVALID_ID",
        ),
    ];
    for (request, reason) in cases {
        assert_err(h.post_with(&alice, request).await, 400, reason);
    }
    let changes = talk_runtime::grpc::acting(
        h.caller(&alice),
        ListChangesRequest {
            talk_id: talk.clone(),
            after_seq: 0,
            limit: 0,
        },
    );
    assert!(
        api(h.client.clone().list_changes(changes).await)
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(h.post(&alice, &talk, "first real").await.unwrap().seq, 1);
    h.stop().await;
}

#[tokio::test]
async fn both_media_shapes_round_trip_as_sent() {
    let h = Harness::start().await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let medias = vec![
        seed(
            "image/png",
            "https://cdn.example.com/chart.png",
            "chart.png",
        ),
        // `file` medias need file-service: tests/it/files (the workspace's).
        Media {
            r#type: "link".into(),
            link_url: Some("http://example.com/doc?id=1".into()),
            ..Default::default()
        },
        Media {
            r#type: "agent".into(),
            agent_id: Some(alice.clone()),
            ..Default::default()
        },
        Media {
            r#type: "address".into(),
            address: Some(Address {
                r#type: "tel".into(),
                target: "+15551234567".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    let posted = h
        .post_with(
            &alice,
            PostMessageRequest {
                talk_id: talk.clone(),
                medias: medias.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(posted.text, "");
    assert_eq!(posted.medias, medias);
    let read = talk_runtime::grpc::acting(
        h.caller(&alice),
        talk_proto::MessageRef {
            message_id: posted.id.clone(),
        },
    );
    assert_eq!(
        api(h.client.clone().get_message(read).await)
            .unwrap()
            .medias,
        medias
    );
    h.stop().await;
}
