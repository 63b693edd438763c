//! Posting, reading, paging, threads, edits, deletes, access and idempotency.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use talk_events::{Bus, Start};
use talk_proto::{
    Caller, EditMessageRequest, ListMessagesRequest, MessageRef, MessageWrite, PageRequest,
    PostMessageRequest, ReactionRequest,
};

use uuid::Uuid;

use crate::harness::{Harness, api, assert_err, key};

#[tokio::test]
async fn post_get_and_list_newest_first_with_voipbin_paging() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let mut events = h.bus.subscribe(Start::New).await.unwrap();

    let mut posted = Vec::new();
    for text in ["one", "two", "three"] {
        posted.push(h.post(&alice, &talk, text).await.unwrap());
    }
    let first = &posted[0];
    assert_eq!(first.r#type, "normal");
    assert_eq!(first.owner_type, "agent");
    assert_eq!(first.owner_id, alice);
    assert_eq!(first.chat_id, talk);
    assert_eq!(first.customer_id, h.customer);
    assert_eq!(first.seq, 1);
    assert_eq!(first.parent_id, None);
    assert_eq!(first.tm_delete, 0);
    assert!(first.tm_create > 0);

    let got = api(h
        .client
        .clone()
        .get_message(talk_runtime::grpc::acting(
            h.caller(&bob),
            MessageRef {
                message_id: first.id.clone(),
            },
        ))
        .await)
    .unwrap();
    assert_eq!(&got, first);

    let list = |size: u32, token: String| {
        let mut client = h.client.clone();
        let request = talk_runtime::grpc::acting(
            h.caller(&bob),
            ListMessagesRequest {
                talk_id: talk.clone(),
                page: Some(PageRequest {
                    page_size: size,
                    page_token: token,
                }),
            },
        );
        async move { api(client.list_messages(request).await) }
    };
    let page = list(2, String::new()).await.unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["three", "two"]);
    assert_eq!(
        page.next_page_token,
        talk_types::time::format(&talk_types::time::from_micros(posted[1].tm_create).unwrap())
    );
    let page = list(2, page.next_page_token).await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].text, "one");
    let page = list(0, page.next_page_token).await.unwrap();
    assert!(page.messages.is_empty());
    assert_eq!(page.next_page_token, "");
    assert_err(
        list(500, "yesterday".into()).await,
        400,
        "INVALID_REQUEST_PARAMETER",
    );

    // Each post was announced after it committed.
    for expected in &posted {
        let delivery = events.next().await.unwrap().unwrap();
        assert_eq!(delivery.envelope.kind, "message_created");
        // The audience is the talk's members as the access check saw them.
        let audience: HashSet<&str> = delivery
            .envelope
            .audience
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(audience, HashSet::from([alice.as_str(), bob.as_str()]));
        let Some(talk_proto::event_envelope::Payload::Message(m)) = delivery.envelope.payload
        else {
            panic!("not a message payload");
        };
        assert_eq!(&m, expected);
    }
    h.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_posts_get_seqs_one_to_fifty() {
    let h = Harness::start().await;
    let agents: Vec<String> = (0..5).map(|_| h.agent()).collect();
    let refs: Vec<&str> = agents.iter().map(String::as_str).collect();
    let talk = h.talk("group", &refs);
    let posts = (0..50).map(|i| {
        let agent = agents[i % agents.len()].clone();
        let (h, talk) = (&h, talk.clone());
        async move { h.post(&agent, &talk, &format!("message {i}")).await }
    });
    let results = futures_util::future::join_all(posts).await;
    let mut messages: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    messages.sort_by_key(|m| m.seq);
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<u64>>());
    // tm_create follows seq, so time-based pages never tie or reorder.
    assert!(messages.windows(2).all(|w| w[0].tm_create < w[1].tm_create));
    let ids: HashSet<_> = messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), 50);
    h.stop().await;
}

/// Posts to one talk that arrive together are written together (group
/// commit), and still fail alone: a reply to another talk's message is
/// refused alone, and posts whose statement fails (into a talk whose counters
/// are another customer's, which only a misbehaving talk-service lets
/// through) fail without writing anything and take no other post down; the
/// others' seqs stay gapless.
#[tokio::test]
async fn a_post_that_fails_in_a_batch_fails_alone() {
    let h = Harness::start().await;
    let agents: Vec<String> = (0..4).map(|_| h.agent()).collect();
    let refs: Vec<&str> = agents.iter().map(String::as_str).collect();
    let talk = h.talk("group", &refs);
    let elsewhere = h.talk("group", &refs);
    let foreign = h.post(&agents[0], &elsewhere, "other talk").await.unwrap();
    h.post(&agents[0], &talk, "first").await.unwrap();
    h.talks.any_customer.store(true, Ordering::Relaxed);
    let stranger = Caller {
        agent_id: agents[1].clone(),
        customer_id: Uuid::new_v4().to_string(),
        permission: 16,
    };
    let posts = (0..40).map(|i| {
        let (h, talk, stranger) = (&h, talk.clone(), stranger.clone());
        let agent = agents[i % agents.len()].clone();
        let foreign = foreign.id.clone();
        async move {
            let mut request = PostMessageRequest {
                talk_id: talk,
                text: format!("message {i}"),
                ..Default::default()
            };
            match i % 10 {
                3 | 4 => {
                    let request = talk_runtime::grpc::acting(stranger, request);
                    api(h.client.clone().post_message(request).await)
                }
                7 => {
                    request.parent_id = Some(foreign);
                    h.post_with(&agent, request).await
                }
                _ => h.post_with(&agent, request).await,
            }
        }
    });
    let results = futures_util::future::join_all(posts).await;
    let mut seqs = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match i % 10 {
            3 | 4 => assert!(result.is_err(), "the stranger's post {i} was written"),
            7 => assert_err(result, 400, "INVALID_PARENT"),
            _ => seqs.push(result.unwrap().seq),
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=29).collect::<Vec<u64>>());
    let batches = &talk_telemetry::metrics::POST_BATCH_SIZE;
    assert!(
        batches.get_sample_sum() > batches.get_sample_count() as f64,
        "no two posts were written together"
    );
    h.stop().await;
}

/// Posts are numbered after every other write of their talk: the batch
/// writer remembers the talk's counters to write a post in one statement, and
/// an edit or a reply in between makes it number the next post afresh.
#[tokio::test]
async fn posts_after_other_writes_are_numbered_after_them() {
    let h = Harness::start().await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let mut events = h.bus.subscribe(Start::New).await.unwrap();
    let first = h.post(&alice, &talk, "one").await.unwrap();
    let second = h.post(&alice, &talk, "two").await.unwrap();
    let edit = talk_runtime::grpc::acting(
        h.caller(&alice),
        EditMessageRequest {
            options: None,
            message_id: second.id.clone(),
            text: "two, edited".to_owned(),
        },
    );
    let edited = api(h.client.clone().edit_message(edit).await).unwrap();
    let third = h.post(&alice, &talk, "three").await.unwrap();
    let answer = reply(&h, &talk, &alice, &first.id, "re: one")
        .await
        .unwrap();
    let fourth = h.post(&alice, &talk, "four").await.unwrap();
    let fifth = h.post(&alice, &talk, "five").await.unwrap();

    let posts = [&first, &second, &third, &answer, &fourth, &fifth];
    let seqs: Vec<u64> = posts.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    let changes = [
        first.change_seq,
        second.change_seq,
        edited.change_seq,
        third.change_seq,
        answer.change_seq,
        fourth.change_seq,
        fifth.change_seq,
    ];
    assert!(changes.windows(2).all(|w| w[0] < w[1]), "{changes:?}");
    assert!(posts.windows(2).all(|w| w[0].tm_create < w[1].tm_create));
    for posted in posts {
        let got = api(h
            .client
            .clone()
            .get_message(talk_runtime::grpc::acting(
                h.caller(&alice),
                MessageRef {
                    message_id: posted.id.clone(),
                },
            ))
            .await)
        .unwrap();
        if posted.id == first.id {
            assert_eq!(got.reply_count, 1);
        } else if posted.id == second.id {
            assert_eq!(got, edited);
        } else {
            assert_eq!(&got, posted);
        }
    }
    let mut announced = Vec::new();
    while announced.len() < 6 {
        let delivery = events.next().await.unwrap().unwrap();
        if let Some(talk_proto::event_envelope::Payload::Message(m)) = delivery.envelope.payload
            && delivery.envelope.kind == "message_created"
        {
            announced.push(m.seq);
        }
    }
    assert_eq!(
        announced,
        [1, 2, 3, 4, 5, 6],
        "announced once each, in order"
    );
    h.stop().await;
}

/// The access checks of posts that arrive together are one call to
/// talk-service, and each post still gets its own answer.
#[tokio::test]
async fn access_checks_that_arrive_together_are_one_call_with_an_answer_each() {
    let h = Harness::start().await;
    let (member, outsider) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&member]);
    let posts = (0..40).map(|i| {
        let (h, talk) = (&h, talk.clone());
        let agent = if i % 4 == 0 { &outsider } else { &member };
        async move { h.post(agent, &talk, &format!("message {i}")).await }
    });
    let results = futures_util::future::join_all(posts).await;
    for (i, result) in results.into_iter().enumerate() {
        if i % 4 == 0 {
            assert_err(result, 403, "PERMISSION_DENIED");
        } else {
            result.unwrap();
        }
    }
    let calls = h.talks.rounds.load(Ordering::Relaxed);
    assert!(calls < 40, "{calls} access calls for 40 posts");
    h.stop().await;
}

async fn reply(
    h: &Harness,
    talk: &str,
    agent: &str,
    parent: &str,
    text: &str,
) -> Result<talk_proto::Message, talk_types::ApiError> {
    let request = PostMessageRequest {
        talk_id: talk.to_owned(),
        text: text.to_owned(),
        parent_id: Some(parent.to_owned()),
        ..Default::default()
    };
    h.post_with(agent, request).await
}

#[tokio::test]
async fn threads_count_replies_at_any_depth() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let root = h
        .post(&alice, &talk, "Should we ship on Friday?")
        .await
        .unwrap();
    let r1 = reply(&h, &talk, &bob, &root.id, "Yes, tests are green.")
        .await
        .unwrap();
    let r2 = reply(&h, &talk, &alice, &r1.id, "Great, confirming.")
        .await
        .unwrap();
    let r3 = reply(&h, &talk, &bob, &root.id, "Also: changelog done.")
        .await
        .unwrap();
    let _other = h.post(&alice, &talk, "unrelated").await.unwrap();
    assert_eq!(r1.parent_id.as_deref(), Some(root.id.as_str()));

    let thread = |id: &str| {
        let request = talk_runtime::grpc::acting(
            h.caller(&bob),
            MessageRef {
                message_id: id.to_owned(),
            },
        );
        let mut client = h.client.clone();
        async move { api(client.list_thread(request).await).unwrap().messages }
    };
    let all = thread(&root.id).await;
    let ids: Vec<_> = all.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [&root.id, &r1.id, &r2.id, &r3.id].map(String::as_str));
    assert_eq!(all[0].reply_count, 2);
    assert_eq!(all[1].reply_count, 1);
    assert_eq!(all[2].reply_count, 0);
    assert_eq!(thread(&r1.id).await.len(), 2);

    // A deleted parent still takes replies and keeps its thread.
    api(h
        .client
        .clone()
        .delete_message(talk_runtime::grpc::acting(
            h.caller(&alice),
            MessageWrite {
                options: None,
                message_id: root.id.clone(),
            },
        ))
        .await)
    .unwrap();
    reply(&h, &talk, &bob, &root.id, "late reply")
        .await
        .unwrap();
    let all = thread(&root.id).await;
    assert_eq!(all.len(), 5);
    assert_ne!(all[0].tm_delete, 0);
    assert_eq!(all[0].reply_count, 3);

    // Parents elsewhere or nowhere are refused.
    let other_talk = h.talk("group", &[&alice]);
    let elsewhere = h.post(&alice, &other_talk, "elsewhere").await.unwrap();
    assert_err(
        reply(&h, &talk, &bob, &elsewhere.id, "x").await,
        400,
        "INVALID_PARENT",
    );
    assert_err(
        reply(&h, &talk, &bob, &uuid::Uuid::new_v4().to_string(), "x").await,
        400,
        "INVALID_PARENT",
    );
    assert_err(
        reply(&h, &talk, &bob, "not-a-uuid", "x").await,
        400,
        "INVALID_ID",
    );
    h.stop().await;
}

#[tokio::test]
async fn edits_keep_history_and_only_the_author_edits() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let message = h.post(&alice, &talk, "v1").await.unwrap();
    let edit = |agent: &str, text: &str| {
        let request = talk_runtime::grpc::acting(
            h.caller(agent),
            EditMessageRequest {
                options: None,
                message_id: message.id.clone(),
                text: text.to_owned(),
            },
        );
        let mut client = h.client.clone();
        async move { api(client.edit_message(request).await) }
    };
    let v2 = edit(&alice, "v2").await.unwrap();
    assert_eq!(v2.text, "v2");
    assert!(v2.tm_update > message.tm_update);
    assert_eq!(v2.tm_create, message.tm_create);
    assert!(v2.change_seq > message.change_seq);
    let v3 = edit(&alice, "v3").await.unwrap();
    assert_eq!(v3.seq, message.seq);
    assert_err(edit(&bob, "hijack").await, 403, "NOT_MESSAGE_OWNER");
    assert_err(
        edit(&alice, &"x".repeat(20_001)).await,
        400,
        "TEXT_TOO_LONG",
    );
    assert_err(edit(&alice, "").await, 400, "EMPTY_MESSAGE");

    let history = api(h
        .client
        .clone()
        .list_history(talk_runtime::grpc::acting(
            h.caller(&bob),
            MessageRef {
                message_id: message.id.clone(),
            },
        ))
        .await)
    .unwrap()
    .edits;
    let texts: Vec<_> = history.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["v1", "v2"]);
    assert!(history[0].tm_edit <= history[1].tm_edit);
    h.stop().await;
}

#[tokio::test]
async fn delete_is_soft_once_and_by_the_author() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let message = h
        .post_with(
            &alice,
            PostMessageRequest {
                talk_id: talk.clone(),
                text: "secret".into(),
                medias: vec![talk_proto::Media {
                    r#type: "image/png".into(),
                    url: Some("https://cdn.example.com/a.png".into()),
                    name: Some("a.png".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let delete = |agent: &str| {
        let request = talk_runtime::grpc::acting(
            h.caller(agent),
            MessageWrite {
                options: None,
                message_id: message.id.clone(),
            },
        );
        let mut client = h.client.clone();
        async move { api(client.delete_message(request).await) }
    };
    assert_err(delete(&bob).await, 403, "NOT_MESSAGE_OWNER");
    let deleted = delete(&alice).await.unwrap();
    assert_eq!(deleted.text, "");
    assert!(deleted.medias.is_empty());
    assert_ne!(deleted.tm_delete, 0);
    assert_err(delete(&alice).await, 404, "MESSAGE_NOT_FOUND");
    let edit = talk_runtime::grpc::acting(
        h.caller(&alice),
        EditMessageRequest {
            options: None,
            message_id: message.id.clone(),
            text: "back".into(),
        },
    );
    assert_err(
        api(h.client.clone().edit_message(edit).await),
        404,
        "MESSAGE_NOT_FOUND",
    );
    let react = talk_runtime::grpc::acting(
        h.caller(&bob),
        ReactionRequest {
            options: None,
            message_id: message.id.clone(),
            emoji: "👍".into(),
        },
    );
    assert_err(
        api(h.client.clone().add_reaction(react).await),
        404,
        "MESSAGE_NOT_FOUND",
    );

    // Still listed, as a placeholder.
    let page = api(h
        .client
        .clone()
        .list_messages(talk_runtime::grpc::acting(
            h.caller(&bob),
            ListMessagesRequest {
                talk_id: talk.clone(),
                page: None,
            },
        ))
        .await)
    .unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, message.id);
    assert_ne!(page.messages[0].tm_delete, 0);
    h.stop().await;
}

#[tokio::test]
async fn only_participants_of_active_talks_post_and_other_customers_see_nothing() {
    let h = Harness::start().await;
    let (alice, outsider) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice]);
    let message = h.post(&alice, &talk, "members only").await.unwrap();

    assert_err(
        h.post(&outsider, &talk, "let me in").await,
        403,
        "PERMISSION_DENIED",
    );
    let read = talk_runtime::grpc::acting(
        h.caller(&outsider),
        MessageRef {
            message_id: message.id.clone(),
        },
    );
    assert_err(
        api(h.client.clone().get_message(read).await),
        403,
        "PERMISSION_DENIED",
    );
    let list = talk_runtime::grpc::acting(
        h.caller(&outsider),
        ListMessagesRequest {
            talk_id: talk.clone(),
            page: None,
        },
    );
    assert_err(
        api(h.client.clone().list_messages(list).await),
        403,
        "PERMISSION_DENIED",
    );
    let react = talk_runtime::grpc::acting(
        h.caller(&outsider),
        ReactionRequest {
            options: None,
            message_id: message.id.clone(),
            emoji: "👍".into(),
        },
    );
    assert_err(
        api(h.client.clone().add_reaction(react).await),
        403,
        "PERMISSION_DENIED",
    );

    // A public talk is readable by any agent of the customer, writable by members.
    let public = h.talk("talk", &[&alice]);
    let hello = h.post(&alice, &public, "hello all").await.unwrap();
    let read = talk_runtime::grpc::acting(
        h.caller(&outsider),
        MessageRef {
            message_id: hello.id.clone(),
        },
    );
    assert_eq!(
        api(h.client.clone().get_message(read).await).unwrap().id,
        hello.id
    );
    assert_err(
        h.post(&outsider, &public, "hi").await,
        403,
        "PERMISSION_DENIED",
    );

    // Another customer's agent: not found.
    let stranger = talk_proto::Caller {
        agent_id: h.agent(),
        customer_id: uuid::Uuid::new_v4().to_string(),
        permission: 16,
    };
    let read = talk_runtime::grpc::acting(
        stranger.clone(),
        MessageRef {
            message_id: message.id.clone(),
        },
    );
    assert_err(
        api(h.client.clone().get_message(read).await),
        404,
        "MESSAGE_NOT_FOUND",
    );
    let post = talk_runtime::grpc::acting(
        stranger,
        PostMessageRequest {
            talk_id: talk.clone(),
            text: "hi".into(),
            ..Default::default()
        },
    );
    assert_err(
        api(h.client.clone().post_message(post).await),
        404,
        "TALK_NOT_FOUND",
    );

    // A member who left can no longer post.
    h.talks.remove_member(&talk, &alice);
    assert_err(
        h.post(&alice, &talk, "still here?").await,
        403,
        "PERMISSION_DENIED",
    );

    // A closed talk refuses posts with 409 until reopened.
    let closed = h.talk("group", &[&alice]);
    h.talks.set_state(&closed, "closed");
    let err = h.post(&alice, &closed, "anyone?").await.unwrap_err();
    assert_eq!(err.kind.http_status(), 409);
    assert_eq!(err.reason, "TALK_CLOSED");
    assert_eq!(err.message, "The talk is closed; reopen it to post.");
    h.talks.set_state(&closed, "active");
    h.post(&alice, &closed, "back").await.unwrap();
    h.stop().await;
}

#[tokio::test]
async fn a_retried_post_makes_one_message() {
    let h = Harness::start().await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let request = PostMessageRequest {
        talk_id: talk.clone(),
        text: "exactly once".into(),
        options: key("k-1", "hash-a"),
        ..Default::default()
    };
    let retries = (0..5).map(|_| h.post_with(&alice, request.clone()));
    let results = futures_util::future::join_all(retries).await;
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(!ok.is_empty());
    assert!(ok.iter().all(|m| m.id == ok[0].id));
    // Concurrent duplicates may see the first still in progress (409), never a second message.
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.reason, "IDEMPOTENCY_KEY_IN_PROGRESS");
        }
    }
    let again = h.post_with(&alice, request.clone()).await.unwrap();
    assert_eq!(again.id, ok[0].id);
    let mut other = request.clone();
    other.options = key("k-1", "hash-b");
    assert_err(
        h.post_with(&alice, other).await,
        422,
        "IDEMPOTENCY_KEY_REUSED",
    );

    let page = api(h
        .client
        .clone()
        .list_messages(talk_runtime::grpc::acting(
            h.caller(&alice),
            ListMessagesRequest {
                talk_id: talk.clone(),
                page: None,
            },
        ))
        .await)
    .unwrap();
    assert_eq!(page.messages.len(), 1);
    h.stop().await;
}

/// Posts with an `Idempotency-Key` join their talk's batch like any other
/// (their records are written with them): 40 posts with 20 keys, each key
/// sent twice at once, make 20 messages with gapless seqs, both requests of a
/// key answered with the same message, several written together; a later
/// retry replays its answer, even after its author left the talk.
#[tokio::test]
async fn keyed_posts_are_written_together_and_once_each() {
    let h = Harness::start().await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let batches = &talk_telemetry::metrics::POST_BATCH_SIZE;
    let (count, sum) = (batches.get_sample_count(), batches.get_sample_sum());
    let request = |i: usize| PostMessageRequest {
        talk_id: talk.clone(),
        text: format!("keyed {i}"),
        options: key(&format!("key-{i}"), &format!("hash-{i}")),
        ..Default::default()
    };
    let posts = (0..40).map(|i| h.post_with(&alice, request(i / 2)));
    let results = futures_util::future::join_all(posts).await;
    let mut seqs = Vec::new();
    let mut ids = Vec::new();
    for (i, pair) in results.chunks(2).enumerate() {
        let (a, b) = (pair[0].as_ref().unwrap(), pair[1].as_ref().unwrap());
        assert_eq!(a.id, b.id, "both requests of key {i} answer one message");
        assert_eq!(a.text, format!("keyed {i}"));
        seqs.push(a.seq);
        ids.push(a.id.clone());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
    let (count, sum) = (
        batches.get_sample_count() - count,
        batches.get_sample_sum() - sum,
    );
    assert!(
        sum > count as f64,
        "no two keyed posts were written together"
    );
    let again = h.post_with(&alice, request(7)).await.unwrap();
    assert_eq!(again.id, ids[7]);
    // A retry replays its first answer even once its author has left; a new
    // post is refused.
    h.talks.remove_member(&talk, &alice);
    let again = h.post_with(&alice, request(3)).await.unwrap();
    assert_eq!(again.id, ids[3]);
    assert_err(
        h.post_with(&alice, request(99)).await,
        403,
        "PERMISSION_DENIED",
    );
    h.stop().await;
}

#[tokio::test]
async fn the_embedded_sqlite_store_works_too() {
    let h = Harness::start_sqlite().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let root = h.post(&alice, &talk, "root").await.unwrap();
    let child = reply(&h, &talk, &bob, &root.id, "child").await.unwrap();
    reply(&h, &talk, &alice, &child.id, "grandchild")
        .await
        .unwrap();
    let request = talk_runtime::grpc::acting(
        h.caller(&bob),
        MessageRef {
            message_id: root.id.clone(),
        },
    );
    let thread = api(h.client.clone().list_thread(request).await)
        .unwrap()
        .messages;
    assert_eq!(thread.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(thread[0].reply_count, 1);
    let react = talk_runtime::grpc::acting(
        h.caller(&bob),
        ReactionRequest {
            options: None,
            message_id: root.id.clone(),
            emoji: ":tada:".into(),
        },
    );
    assert_eq!(
        api(h.client.clone().add_reaction(react).await)
            .unwrap()
            .reactions
            .len(),
        1
    );
    let counts = talk_runtime::grpc::acting(
        h.caller(&alice),
        talk_proto::UnreadCountsRequest {
            talk_ids: vec![talk.clone()],
        },
    );
    let states = api(h.client.clone().unread_counts(counts).await)
        .unwrap()
        .states;
    assert_eq!(
        (
            states[0].last_seq,
            states[0].last_read_seq,
            states[0].unread_count
        ),
        (3, 3, 0)
    );
    let counts = talk_runtime::grpc::acting(
        h.caller(&bob),
        talk_proto::UnreadCountsRequest {
            talk_ids: vec![talk.clone()],
        },
    );
    let states = api(h.client.clone().unread_counts(counts).await)
        .unwrap()
        .states;
    assert_eq!((states[0].last_read_seq, states[0].unread_count), (2, 1));
    let posts = (0..10).map(|i| {
        let (h, talk, alice) = (&h, talk.clone(), alice.clone());
        async move { h.post(&alice, &talk, &format!("m{i}")).await }
    });
    let mut seqs: Vec<u64> = futures_util::future::join_all(posts)
        .await
        .into_iter()
        .map(|r| r.unwrap().seq)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (4..=13).collect::<Vec<u64>>());
    h.stop().await;
}
