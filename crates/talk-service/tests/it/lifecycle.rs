//! Update, soft delete, close and reopen (and auto-close on the last leave).

use talk_proto::{AddParticipantRequest, ListTalksRequest, UpdateTalkRequest};
use talk_types::ErrorKind;

use crate::support::{Env, agent_ref, err, write};

fn update(
    by: &talk_proto::Caller,
    talk: &str,
    name: Option<&str>,
    detail: Option<&str>,
) -> tonic::Request<UpdateTalkRequest> {
    talk_runtime::grpc::acting(
        by.clone(),
        UpdateTalkRequest {
            options: None,
            talk_id: talk.into(),
            name: name.map(str::to_owned),
            detail: detail.map(str::to_owned),
        },
    )
}

#[tokio::test]
async fn update_changes_name_and_detail_for_participants_only() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let outsider = env.agent(&env.admin).await;
    let talk = env.talk(&a, "group", &[&b]).await;
    let mut client = env.talks.clone();

    // A plain member may not rename (roles.rs); the creator, an owner, may.
    let refused = client
        .update_talk(update(&b, &talk.id, Some("Renamed"), None))
        .await
        .expect_err("a plain member");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let updated = client
        .update_talk(update(&a, &talk.id, Some("Renamed"), None))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.name, "Renamed");
    assert!(updated.tm_update >= talk.tm_update);
    let updated = client
        .update_talk(update(&a, &talk.id, None, Some("about")))
        .await
        .expect("update detail")
        .into_inner();
    assert_eq!(
        (updated.name.as_str(), updated.detail.as_str()),
        ("Renamed", "about")
    );
    let cleared = client
        .update_talk(update(&a, &talk.id, Some(""), None))
        .await
        .expect("clear name")
        .into_inner();
    assert_eq!(cleared.name, "");

    let e = crate::support::err(
        client
            .update_talk(update(&a, &talk.id, None, None))
            .await
            .map_err(|s| talk_types::ApiError::from_status(&s)),
    );
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::InvalidArgument, "MISSING_FIELD")
    );
    let e = talk_types::ApiError::from_status(
        &client
            .update_talk(update(&a, &talk.id, Some(&"n".repeat(256)), None))
            .await
            .expect_err("too long"),
    );
    assert_eq!(e.reason, "FIELD_TOO_LONG");
    let e = talk_types::ApiError::from_status(
        &client
            .update_talk(update(&outsider, &talk.id, Some("x"), None))
            .await
            .expect_err("outsider"),
    );
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    let e = talk_types::ApiError::from_status(
        &client
            .update_talk(update(&a, "not-a-uuid", Some("x"), None))
            .await
            .expect_err("bad id"),
    );
    assert_eq!(e.reason, "INVALID_ID");
    assert_eq!(env.get(&a, &talk.id).await.expect("get").name, "");
    env.stop().await;
}

#[tokio::test]
async fn close_and_reopen() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;
    let group = env.talk(&a, "group", &[&b]).await;
    let channel = env.talk(&a, "talk", &[]).await;
    let mut client = env.talks.clone();

    let closed = client
        .close_talk(write(&a, &group.id))
        .await
        .expect("close")
        .into_inner();
    assert_eq!(closed.state, "closed");
    let e = talk_types::ApiError::from_status(
        &client
            .close_talk(write(&a, &group.id))
            .await
            .expect_err("twice"),
    );
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::FailedPrecondition, "TALK_ALREADY_CLOSED")
    );

    // A closed talk takes no new participants.
    let e = talk_types::ApiError::from_status(
        &client
            .add_participant(talk_runtime::grpc::acting(
                a.clone(),
                AddParticipantRequest {
                    options: None,
                    talk_id: group.id.clone(),
                    participant: Some(agent_ref(&c.agent_id)),
                },
            ))
            .await
            .expect_err("closed"),
    );
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::FailedPrecondition, "TALK_CLOSED")
    );
    assert!(e.message.contains("closed"), "{}", e.message);
    client
        .close_talk(write(&a, &channel.id))
        .await
        .expect("close channel");
    let e = err(env.join(&c, &channel.id).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::FailedPrecondition, "TALK_CLOSED")
    );
    // Outsiders cannot close or reopen.
    let e = talk_types::ApiError::from_status(
        &client
            .reopen_talk(write(&c, &group.id))
            .await
            .expect_err("outsider"),
    );
    assert_eq!(e.kind, ErrorKind::PermissionDenied);

    let reopened = client
        .reopen_talk(write(&a, &group.id))
        .await
        .expect("reopen")
        .into_inner();
    assert_eq!(reopened.state, "active");
    let e = talk_types::ApiError::from_status(
        &client
            .reopen_talk(write(&a, &group.id))
            .await
            .expect_err("twice"),
    );
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::FailedPrecondition, "TALK_NOT_CLOSED")
    );
    let added = client
        .add_participant(talk_runtime::grpc::acting(
            a.clone(),
            AddParticipantRequest {
                options: None,
                talk_id: group.id.clone(),
                participant: Some(agent_ref(&c.agent_id)),
            },
        ))
        .await
        .expect("add after reopen")
        .into_inner();
    assert_eq!(added.state, "active");
    assert_eq!(env.get(&a, &group.id).await.expect("get").member_count, 3);
    env.stop().await;
}

#[tokio::test]
async fn the_last_one_out_closes_the_talk() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let group = env.talk(&a, "group", &[&b]).await;

    env.leave(&a, &group.id).await.expect("a leaves");
    let talk = env.get(&b, &group.id).await.expect("get");
    assert_eq!((talk.state.as_str(), talk.member_count), ("active", 1));
    let left = env.leave(&b, &group.id).await.expect("b leaves");
    assert_eq!(left.state, "left");
    assert!(left.tm_left > 0);
    // Nobody is left to see the private talk.
    let e = err(env.get(&b, &group.id).await);
    assert_eq!(e.kind, ErrorKind::PermissionDenied);

    let channel = env.talk(&a, "talk", &[]).await;
    env.leave(&a, &channel.id).await.expect("leave channel");
    let talk = env.get(&b, &channel.id).await.expect("public");
    assert_eq!((talk.state.as_str(), talk.member_count), ("closed", 0));
    env.stop().await;
}

#[tokio::test]
async fn delete_is_soft_and_answers_the_snapshot() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let outsider = env.agent(&env.admin).await;
    let group = env.talk(&a, "group", &[&b]).await;
    let channel = env.talk(&a, "talk", &[]).await;
    let mut client = env.talks.clone();

    let e = talk_types::ApiError::from_status(
        &client
            .delete_talk(write(&outsider, &group.id))
            .await
            .expect_err("outsider"),
    );
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    let snapshot = client
        .delete_talk(write(&a, &group.id))
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(snapshot.id, group.id);
    assert_eq!(snapshot.tm_delete, 0, "the pre-delete snapshot");

    // Participants still read it (with tm_delete); nothing else works.
    let seen = env
        .get(&a, &group.id)
        .await
        .expect("participant reads deleted");
    assert!(seen.tm_delete > 0);
    assert_eq!(
        err(env.get(&outsider, &group.id).await).kind,
        ErrorKind::NotFound
    );
    let e = talk_types::ApiError::from_status(
        &client
            .delete_talk(write(&a, &group.id))
            .await
            .expect_err("again"),
    );
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::NotFound, "TALK_NOT_FOUND")
    );
    assert_eq!(
        err(env.participants(&a, &group.id).await).kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        err(env.leave(&a, &group.id).await).kind,
        ErrorKind::NotFound
    );
    let e = talk_types::ApiError::from_status(
        &client
            .update_talk(update(&a, &group.id, Some("x"), None))
            .await
            .expect_err("update deleted"),
    );
    assert_eq!(e.kind, ErrorKind::NotFound);
    let mine = client
        .list_talks(talk_runtime::grpc::acting(
            a.clone(),
            ListTalksRequest { page: None },
        ))
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = mine.talks.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, vec![channel.id.clone()]);

    client
        .delete_talk(write(&a, &channel.id))
        .await
        .expect("delete channel");
    assert_eq!(
        err(env.join(&b, &channel.id).await).kind,
        ErrorKind::NotFound
    );
    let channels = client
        .list_channels(talk_runtime::grpc::acting(
            b.clone(),
            ListTalksRequest { page: None },
        ))
        .await
        .expect("channels")
        .into_inner();
    assert!(channels.talks.is_empty());
    env.stop().await;
}
