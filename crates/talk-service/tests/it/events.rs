//! The events each change publishes, in order, with their payloads.

use talk_events::{EventKind, Payload};
use talk_proto::{RemoveParticipantRequest, SetParticipantRoleRequest, UpdateTalkRequest};

use crate::support::{Env, next_events, write};

fn talk_of(payload: &Payload) -> &talk_proto::Talk {
    match payload {
        Payload::Talk(t) => t,
        other => panic!("expected a talk payload, got {other:?}"),
    }
}

fn participant_of(payload: &Payload) -> &talk_proto::Participant {
    match payload {
        Payload::Participant(p) => p,
        other => panic!("expected a participant payload, got {other:?}"),
    }
}

/// The participant id of `who` in `talk`, as `by` lists it.
async fn participant_id(
    env: &Env,
    by: &talk_proto::Caller,
    talk: &str,
    who: &talk_proto::Caller,
) -> String {
    env.participants(by, talk)
        .await
        .expect("participants")
        .into_iter()
        .find(|p| p.owner_id == who.agent_id)
        .expect("a participant")
        .id
}

#[tokio::test]
async fn every_change_publishes_its_event() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;
    let mut events = env.events().await;
    let mut client = env.talks.clone();

    // Create: one participant_joined per member, then talk_created with the final count.
    let talk = env.talk(&a, "talk", &[&b]).await;
    let got = next_events(&mut events, 3).await;
    let kinds: Vec<_> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ParticipantJoined,
            EventKind::ParticipantJoined,
            EventKind::TalkCreated
        ]
    );
    let owners: Vec<_> = got[..2]
        .iter()
        .map(|(_, p)| participant_of(p).owner_id.clone())
        .collect();
    assert_eq!(owners, vec![a.agent_id.clone(), b.agent_id.clone()]);
    for (_, p) in &got[..2] {
        let p = participant_of(p);
        assert_eq!(
            (p.chat_id.as_str(), p.state.as_str()),
            (talk.id.as_str(), "active")
        );
        assert!(p.tm_joined > 0);
    }
    assert_eq!(talk_of(&got[2].1), &talk);

    // A direct talk returned again publishes nothing (the next event is the update's).
    let direct = env.talk(&a, "direct", &[&c]).await;
    next_events(&mut events, 3).await;
    let again = env.create(&c, "direct", None, &[&a]).await.expect("again");
    assert!(!again.created);
    client
        .update_talk(talk_runtime::grpc::acting(
            a.clone(),
            UpdateTalkRequest {
                options: None,
                talk_id: talk.id.clone(),
                name: Some("new name".into()),
                detail: None,
            },
        ))
        .await
        .expect("update");
    let got = next_events(&mut events, 1).await;
    assert_eq!(got[0].0, EventKind::TalkUpdated);
    assert_eq!(talk_of(&got[0].1).name, "new name");
    let _ = direct;

    // Join, remove, close, reopen, leave to empty (auto-close), delete.
    let joined = env.join(&c, &talk.id).await.expect("join");
    let got = next_events(&mut events, 1).await;
    assert_eq!(got[0].0, EventKind::ParticipantJoined);
    assert_eq!(participant_of(&got[0].1), &joined);
    env.join(&c, &talk.id).await.expect("join again: no event");
    let removed = client
        .remove_participant(talk_runtime::grpc::acting(
            a.clone(),
            RemoveParticipantRequest {
                options: None,
                talk_id: talk.id.clone(),
                participant_id: joined.id.clone(),
            },
        ))
        .await
        .expect("remove")
        .into_inner();
    let got = next_events(&mut events, 1).await;
    assert_eq!(got[0].0, EventKind::ParticipantLeft);
    let left = participant_of(&got[0].1);
    assert_eq!(left, &removed);
    assert_eq!(
        (left.state.as_str(), left.owner_id.as_str()),
        ("left", c.agent_id.as_str())
    );

    // A role change publishes participant_updated; setting the same role again publishes nothing.
    let b_record = participant_id(&env, &a, &talk.id, &b).await;
    let set = |role: &str| {
        talk_runtime::grpc::acting(
            a.clone(),
            SetParticipantRoleRequest {
                options: None,
                talk_id: talk.id.clone(),
                participant_id: b_record.clone(),
                role: role.into(),
            },
        )
    };
    let promoted = client
        .set_participant_role(set("moderator"))
        .await
        .expect("promote")
        .into_inner();
    client
        .set_participant_role(set("moderator"))
        .await
        .expect("again: no event");
    let got = next_events(&mut events, 1).await;
    assert_eq!(got[0].0, EventKind::ParticipantUpdated);
    assert_eq!(participant_of(&got[0].1), &promoted);
    assert_eq!(promoted.role, "moderator");

    client.close_talk(write(&a, &talk.id)).await.expect("close");
    client
        .reopen_talk(write(&a, &talk.id))
        .await
        .expect("reopen");
    let got = next_events(&mut events, 2).await;
    assert_eq!(
        (got[0].0, talk_of(&got[0].1).state.as_str()),
        (EventKind::TalkClosed, "closed")
    );
    assert_eq!(
        (got[1].0, talk_of(&got[1].1).state.as_str()),
        (EventKind::TalkReopened, "active")
    );

    env.leave(&a, &talk.id).await.expect("a leaves");
    env.leave(&b, &talk.id).await.expect("b leaves");
    let got = next_events(&mut events, 3).await;
    let kinds: Vec<_> = got.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ParticipantLeft,
            EventKind::ParticipantLeft,
            EventKind::TalkClosed
        ]
    );
    let closed = talk_of(&got[2].1);
    assert_eq!((closed.state.as_str(), closed.member_count), ("closed", 0));

    assert!(
        client.delete_talk(write(&b, &direct.id)).await.is_err(),
        "b is not in it"
    );
    let snapshot = client
        .delete_talk(write(&a, &direct.id))
        .await
        .expect("delete")
        .into_inner();
    let got = next_events(&mut events, 1).await;
    assert_eq!(got[0].0, EventKind::TalkDeleted);
    assert_eq!(talk_of(&got[0].1), &snapshot);
    env.stop().await;
}
