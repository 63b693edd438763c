//! Retried writes with one Idempotency-Key return the first response.

use talk_proto::{CreateTalkRequest, ListTalksRequest, TalkWrite, UpdateTalkRequest};
use talk_types::{ApiError, ErrorKind};

use crate::support::{Env, agent_ref, keyed};

#[tokio::test]
async fn retries_replay_the_first_response() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;
    let mut client = env.talks.clone();
    let create = || {
        talk_runtime::grpc::acting(
            a.clone(),
            CreateTalkRequest {
                options: keyed("create-1", "hash-1"),
                r#type: "group".into(),
                name: Some("retry".into()),
                detail: None,
                participants: vec![agent_ref(&b.agent_id)],
            },
        )
    };
    let first = client
        .create_talk(create())
        .await
        .expect("first")
        .into_inner();
    let second = client
        .create_talk(create())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);
    let talk = first.talk.expect("talk");
    let mine = client
        .list_talks(talk_runtime::grpc::acting(
            a.clone(),
            ListTalksRequest { page: None },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(mine.talks.len(), 1, "one talk for two requests");

    // The same key with another request is a 422.
    let e = ApiError::from_status(
        &client
            .create_talk(talk_runtime::grpc::acting(
                a.clone(),
                CreateTalkRequest {
                    options: keyed("create-1", "hash-2"),
                    ..create().into_inner()
                },
            ))
            .await
            .expect_err("reused key"),
    );
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::Unprocessable, "IDEMPOTENCY_KEY_REUSED")
    );

    // A replayed update returns the first result even after a later change.
    let update = |name: &str, key: &str| {
        talk_runtime::grpc::acting(
            a.clone(),
            UpdateTalkRequest {
                options: keyed(key, name),
                talk_id: talk.id.clone(),
                name: Some(name.into()),
                detail: None,
            },
        )
    };
    let renamed = client
        .update_talk(update("one", "u1"))
        .await
        .expect("u1")
        .into_inner();
    client.update_talk(update("two", "u2")).await.expect("u2");
    let replay = client
        .update_talk(update("one", "u1"))
        .await
        .expect("u1 again")
        .into_inner();
    assert_eq!(replay, renamed);
    assert_eq!(env.get(&a, &talk.id).await.expect("get").name, "two");

    // Closing twice with one key is not a 409: it is the same request.
    let close = || {
        talk_runtime::grpc::acting(
            a.clone(),
            TalkWrite {
                options: keyed("close-1", "h"),
                talk_id: talk.id.clone(),
            },
        )
    };
    let closed = client
        .close_talk(close())
        .await
        .expect("close")
        .into_inner();
    assert_eq!(
        client
            .close_talk(close())
            .await
            .expect("retry")
            .into_inner(),
        closed
    );
    client
        .reopen_talk(talk_runtime::grpc::acting(
            a.clone(),
            TalkWrite {
                options: keyed("reopen-1", "h"),
                talk_id: talk.id.clone(),
            },
        ))
        .await
        .expect("reopen");

    // A retried add adds once; a retried removal removes once.
    let add = || {
        talk_runtime::grpc::acting(
            a.clone(),
            talk_proto::AddParticipantRequest {
                options: keyed("add-c", "h"),
                talk_id: talk.id.clone(),
                participant: Some(agent_ref(&c.agent_id)),
            },
        )
    };
    let added = client
        .add_participant(add())
        .await
        .expect("add")
        .into_inner();
    assert_eq!(
        client
            .add_participant(add())
            .await
            .expect("retry")
            .into_inner(),
        added
    );
    assert_eq!(env.get(&a, &talk.id).await.expect("get").member_count, 3);
    let leave = || {
        talk_runtime::grpc::acting(
            c.clone(),
            TalkWrite {
                options: keyed("leave-c", "h"),
                talk_id: talk.id.clone(),
            },
        )
    };
    let left = client
        .leave_talk(leave())
        .await
        .expect("leave")
        .into_inner();
    assert_eq!(
        client
            .leave_talk(leave())
            .await
            .expect("retry")
            .into_inner(),
        left
    );
    assert_eq!(env.get(&a, &talk.id).await.expect("get").member_count, 2);
    env.stop().await;
}
