//! Who sees what: participants, non-participants, public channels, other customers.

use talk_proto::{ListTalksRequest, TalkRef};
use talk_types::{ApiError, ErrorKind, TalkId};

use crate::support::{Env, err};

#[tokio::test]
async fn visibility_follows_membership_type_and_customer() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let outsider = env.agent(&env.admin).await;
    let other_admin = env.other_customer().await;
    let stranger = env.agent(&other_admin).await;
    let group = env.talk(&a, "group", &[&b]).await;
    let direct = env.talk(&a, "direct", &[&b]).await;
    let channel = env.talk(&a, "talk", &[]).await;
    let check = |by: &talk_proto::Caller, id: &str| {
        let mut client = env.talks.clone();
        let request = talk_runtime::grpc::acting(
            by.clone(),
            TalkRef {
                talk_id: id.to_owned(),
            },
        );
        async move {
            client
                .check_access(request)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| ApiError::from_status(&s))
        }
    };

    // Participants see private talks; others of the customer get 403, strangers 404.
    for talk in [&group, &direct] {
        assert_eq!(
            env.get(&b, &talk.id).await.expect("participant").id,
            talk.id
        );
        assert_eq!(
            err(env.get(&outsider, &talk.id).await).kind,
            ErrorKind::PermissionDenied
        );
        let e = err(env.get(&stranger, &talk.id).await);
        assert_eq!(
            (e.kind, e.reason.as_ref()),
            (ErrorKind::NotFound, "TALK_NOT_FOUND")
        );
        assert_eq!(
            err(env.participants(&outsider, &talk.id).await).kind,
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            err(env.participants(&stranger, &talk.id).await).kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            err(check(&outsider, &talk.id).await).kind,
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            err(check(&stranger, &talk.id).await).kind,
            ErrorKind::NotFound
        );
    }
    // A public talk is visible to every agent of its customer, never beyond.
    assert_eq!(
        env.get(&outsider, &channel.id).await.expect("public").id,
        channel.id
    );
    assert_eq!(
        env.participants(&outsider, &channel.id)
            .await
            .expect("public")
            .len(),
        1
    );
    assert_eq!(
        err(env.get(&stranger, &channel.id).await).kind,
        ErrorKind::NotFound
    );

    // CheckAccess: the talk plus the caller's record, if any.
    let access = check(&b, &group.id).await.expect("access");
    assert_eq!(access.talk.as_ref().expect("talk").id, group.id);
    assert_eq!(
        access.participant.as_ref().expect("record").owner_id,
        b.agent_id
    );
    let mut members = access.recent_member_ids.clone();
    members.sort();
    let mut expected = vec![a.agent_id.clone(), b.agent_id.clone()];
    expected.sort();
    assert_eq!(
        members, expected,
        "recent_member_ids are the active participants"
    );
    let access = check(&outsider, &channel.id).await.expect("public access");
    assert!(access.participant.is_none());
    assert_eq!(
        err(check(&a, &TalkId::new().to_string()).await).kind,
        ErrorKind::NotFound
    );
    assert_eq!(err(check(&a, "nope").await).reason, "INVALID_ID");

    // Listing: mine shows where I am; channels shows the customer's public talks.
    let list = |by: &talk_proto::Caller, channels: bool| {
        let mut client = env.talks.clone();
        let request = talk_runtime::grpc::acting(by.clone(), ListTalksRequest { page: None });
        async move {
            let page = if channels {
                client.list_channels(request).await
            } else {
                client.list_talks(request).await
            };
            page.expect("list")
                .into_inner()
                .talks
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(&a, false).await,
        vec![channel.id.clone(), direct.id.clone(), group.id.clone()]
    );
    assert_eq!(
        list(&b, false).await,
        vec![direct.id.clone(), group.id.clone()]
    );
    assert!(list(&outsider, false).await.is_empty());
    assert_eq!(list(&outsider, true).await, vec![channel.id.clone()]);
    assert!(list(&stranger, true).await.is_empty());
    env.stop().await;
}
