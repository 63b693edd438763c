//! Join, leave, add, remove, re-add — and an exact member_count under concurrency.

use talk_proto::{
    AddParticipantRequest, Caller, ListMembershipsRequest, Participant, RemoveParticipantRequest,
};
use talk_types::{AgentId, ApiError, ErrorKind};

use crate::support::{Env, agent_ref, err};

async fn add(env: &Env, by: &Caller, talk: &str, who: &str) -> Result<Participant, ApiError> {
    env.talks
        .clone()
        .add_participant(talk_runtime::grpc::acting(
            by.clone(),
            AddParticipantRequest {
                options: None,
                talk_id: talk.into(),
                participant: Some(agent_ref(who)),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| ApiError::from_status(&s))
}

async fn remove(
    env: &Env,
    by: &Caller,
    talk: &str,
    participant: &str,
) -> Result<Participant, ApiError> {
    env.talks
        .clone()
        .remove_participant(talk_runtime::grpc::acting(
            by.clone(),
            RemoveParticipantRequest {
                options: None,
                talk_id: talk.into(),
                participant_id: participant.into(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| ApiError::from_status(&s))
}

async fn count(env: &Env, by: &Caller, talk: &str) -> u32 {
    env.get(by, talk).await.expect("get").member_count
}

#[tokio::test]
async fn join_leave_remove_and_readd_keep_an_exact_count() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;
    let channel = env.talk(&a, "talk", &[]).await;

    let joined = env.join(&b, &channel.id).await.expect("join");
    assert_eq!(
        (joined.owner_id.as_str(), joined.chat_id.as_str()),
        (b.agent_id.as_str(), channel.id.as_str())
    );
    assert_eq!(
        (joined.owner_type.as_str(), joined.state.as_str()),
        ("agent", "active")
    );
    assert_eq!(joined.customer_id, b.customer_id);
    assert_eq!(count(&env, &a, &channel.id).await, 2);
    // Joining again returns the same record and changes nothing.
    let again = env.join(&b, &channel.id).await.expect("join again");
    assert_eq!(again.id, joined.id);
    assert_eq!(count(&env, &a, &channel.id).await, 2);
    // Adding an active member returns their record.
    let same = add(&env, &a, &channel.id, &b.agent_id)
        .await
        .expect("add existing");
    assert_eq!(same.id, joined.id);

    // Remove by participant id; the record is left.
    let removed = remove(&env, &a, &channel.id, &joined.id)
        .await
        .expect("remove");
    assert_eq!(removed.state, "left");
    assert!(removed.tm_left > 0);
    assert_eq!(count(&env, &a, &channel.id).await, 1);
    // Removing a left record again changes nothing.
    let twice = remove(&env, &a, &channel.id, &joined.id)
        .await
        .expect("remove again");
    assert_eq!(twice.state, "left");
    assert_eq!(count(&env, &a, &channel.id).await, 1);

    // Re-adding makes a new record.
    let readded = add(&env, &a, &channel.id, &b.agent_id)
        .await
        .expect("re-add");
    assert_ne!(readded.id, joined.id);
    assert_eq!(readded.state, "active");
    assert_eq!(count(&env, &a, &channel.id).await, 2);
    let list = env
        .participants(&c, &channel.id)
        .await
        .expect("public list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, readded.id, "newest joined first");

    // Leave = remove self.
    let left = env.leave(&b, &channel.id).await.expect("leave");
    assert_eq!(left.id, readded.id);
    assert_eq!(count(&env, &a, &channel.id).await, 1);
    assert_eq!(
        err(env.leave(&b, &channel.id).await).reason,
        "PARTICIPANT_NOT_FOUND"
    );

    // A participant id of another talk, or unknown, is a 404.
    let group = env.talk(&a, "group", &[&c]).await;
    let members = env.participants(&a, &group.id).await.expect("members");
    let e = err(remove(&env, &a, &channel.id, &members[0].id).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::NotFound, "PARTICIPANT_NOT_FOUND")
    );
    let e = err(remove(&env, &a, &channel.id, &AgentId::new().to_string()).await);
    assert_eq!(e.reason, "PARTICIPANT_NOT_FOUND");
    let e = err(remove(&env, &a, &channel.id, "bad").await);
    assert_eq!(e.reason, "INVALID_ID");
    assert!(e.message.contains("participant_id"));
    // Only active participants remove.
    let e = err(remove(&env, &b, &group.id, &members[0].id).await);
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    env.stop().await;
}

#[tokio::test]
async fn who_may_add_and_join() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let c = env.agent(&env.admin).await;
    let group = env.talk(&a, "group", &[]).await;
    let channel = env.talk(&a, "talk", &[]).await;

    // Non-participants cannot add to a private talk, not even themselves.
    assert_eq!(
        err(add(&env, &b, &group.id, &b.agent_id).await).kind,
        ErrorKind::PermissionDenied
    );
    // Joining is for public talks only.
    let e = err(env.join(&b, &group.id).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::InvalidArgument, "NOT_PUBLIC")
    );
    // On a public talk a non-member may add themself, not others.
    add(&env, &b, &channel.id, &b.agent_id)
        .await
        .expect("add self");
    assert_eq!(
        err(add(&env, &c, &channel.id, &a.agent_id).await).kind,
        ErrorKind::PermissionDenied
    );
    // Any participant adds anyone of the customer.
    add(&env, &a, &group.id, &c.agent_id).await.expect("add c");
    assert_eq!(count(&env, &c, &group.id).await, 2);
    // Unknown agents and agents of another customer are refused, by name.
    let ghost = AgentId::new().to_string();
    let e = err(add(&env, &a, &group.id, &ghost).await);
    assert_eq!(e.reason, "UNKNOWN_AGENT");
    assert!(e.message.contains(&ghost));
    let other_admin = env.other_customer().await;
    let stranger = env.agent(&other_admin).await;
    assert_eq!(
        err(add(&env, &a, &group.id, &stranger.agent_id).await).reason,
        "UNKNOWN_AGENT"
    );
    // The stranger cannot join or see across customers.
    assert_eq!(
        err(env.join(&stranger, &channel.id).await).kind,
        ErrorKind::NotFound
    );
    let e = err(env
        .talks
        .clone()
        .add_participant(talk_runtime::grpc::acting(
            a.clone(),
            AddParticipantRequest {
                options: None,
                talk_id: group.id.clone(),
                participant: Some(talk_proto::ParticipantRef {
                    owner_type: "agent".into(),
                    owner_id: "x".into(),
                }),
            },
        ))
        .await
        .map_err(|s| ApiError::from_status(&s)));
    assert_eq!(e.reason, "INVALID_ID");
    let e = err(env
        .talks
        .clone()
        .add_participant(talk_runtime::grpc::acting(
            a.clone(),
            AddParticipantRequest {
                options: None,
                talk_id: group.id.clone(),
                participant: None,
            },
        ))
        .await
        .map_err(|s| ApiError::from_status(&s)));
    assert_eq!(e.reason, "MISSING_FIELD");
    assert_eq!(count(&env, &a, &group.id).await, 2);

    let memberships = env
        .talks
        .clone()
        .list_memberships(ListMembershipsRequest {
            agent_id: c.agent_id.clone(),
            customer_id: c.customer_id.clone(),
        })
        .await
        .expect("memberships")
        .into_inner();
    assert_eq!(memberships.talk_ids, vec![group.id.clone()]);
    env.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_joins_count_twenty() {
    let env = Env::start().await;
    // A fresh public talk; 20 agents join at once (the admin stays in).
    let channel = env.talk(&env.admin, "talk", &[]).await;
    let mut agents = Vec::new();
    for _ in 0..20 {
        agents.push(env.agent(&env.admin).await);
    }
    let mut tasks = Vec::new();
    for agent in agents.clone() {
        let client = env.talks.clone();
        let id = channel.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            client
                .join_talk(crate::support::write(&agent, &id))
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    for task in tasks {
        task.await.expect("join task").expect("join");
    }
    env.leave(&env.admin, &channel.id)
        .await
        .expect("admin leaves");
    let talk = env.get(&agents[0], &channel.id).await.expect("get");
    assert_eq!(talk.member_count, 20);
    assert_eq!(
        env.participants(&agents[0], &channel.id)
            .await
            .expect("list")
            .len(),
        20
    );

    // Half leave while the others join again, concurrently.
    let mut tasks = Vec::new();
    for (i, agent) in agents.iter().cloned().enumerate() {
        let client = env.talks.clone();
        let id = channel.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            let request = crate::support::write(&agent, &id);
            if i % 2 == 0 {
                client.leave_talk(request).await.map(|_| ())
            } else {
                client.join_talk(request).await.map(|_| ())
            }
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("call");
    }
    let talk = env.get(&agents[1], &channel.id).await.expect("get");
    assert_eq!(talk.member_count, 10);
    assert_eq!(
        env.participants(&agents[1], &channel.id)
            .await
            .expect("list")
            .len(),
        10
    );
    env.stop().await;
}
