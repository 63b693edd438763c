//! The caps message-service counts itself, on PostgreSQL and on SQLite (the
//! embedded default): replies per thread, at any depth, also when replies
//! arrive at once and are written in one batch; previous texts kept.

use talk_proto::{EditMessageRequest, MessageRef, PostMessageRequest};

use crate::harness::{Harness, api, assert_err};

/// `harness` restarted with at most `max` replies per thread.
async fn with_thread_cap(mut h: Harness, max: u32) -> Harness {
    h.halt().await;
    h.config.max_thread_replies = max;
    h.boot().await;
    h
}

async fn reply(
    h: &Harness,
    agent: &str,
    talk: &str,
    parent: &str,
) -> Result<talk_proto::Message, talk_types::ApiError> {
    let request = PostMessageRequest {
        talk_id: talk.to_owned(),
        text: format!("re: {parent}"),
        parent_id: Some(parent.to_owned()),
        ..Default::default()
    };
    h.post_with(agent, request).await
}

async fn thread_len(h: &Harness, agent: &str, root: &str) -> usize {
    let request = talk_runtime::grpc::acting(
        h.caller(agent),
        MessageRef {
            message_id: root.to_owned(),
        },
    );
    api(h.client.clone().list_thread(request).await)
        .unwrap()
        .messages
        .len()
}

/// Three replies fit in a thread of cap 3 whatever their depth; a fourth is
/// refused, alone, also among replies written in one batch.
async fn a_thread_holds_at_most_its_replies(h: Harness) {
    let h = with_thread_cap(h, 3).await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let root = h.post(&alice, &talk, "root").await.unwrap();
    let child = reply(&h, &alice, &talk, &root.id).await.unwrap();
    let grandchild = reply(&h, &alice, &talk, &child.id).await.unwrap();
    reply(&h, &alice, &talk, &grandchild.id).await.unwrap();
    assert_err(
        reply(&h, &alice, &talk, &child.id).await,
        400,
        "TOO_MANY_REPLIES",
    );
    assert_eq!(thread_len(&h, &alice, &root.id).await, 4);

    let other = h.post(&alice, &talk, "another root").await.unwrap();
    let replies = (0..8).map(|_| reply(&h, &alice, &talk, &other.id));
    let answers = futures_util::future::join_all(replies).await;
    let accepted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(accepted, 3, "{answers:?}");
    for refused in answers.into_iter().filter(Result::is_err) {
        assert_err(refused, 400, "TOO_MANY_REPLIES");
    }
    assert_eq!(thread_len(&h, &alice, &other.id).await, 4);
    let last = h.post(&alice, &talk, "top level").await.unwrap();
    assert_eq!(last.seq, 9, "refused replies took no seq");
    h.stop().await;
}

#[tokio::test]
async fn a_thread_holds_at_most_its_replies_on_postgres() {
    a_thread_holds_at_most_its_replies(Harness::start().await).await;
}

#[tokio::test]
async fn a_thread_holds_at_most_its_replies_on_sqlite() {
    a_thread_holds_at_most_its_replies(Harness::start_sqlite().await).await;
}

/// The 51st edit drops the oldest previous text (SQLite; the e2e test runs
/// it on PostgreSQL).
#[tokio::test]
async fn the_newest_fifty_previous_texts_are_kept_on_sqlite() {
    let h = Harness::start_sqlite().await;
    let alice = h.agent();
    let talk = h.talk("group", &[&alice]);
    let message = h.post(&alice, &talk, "v0").await.unwrap();
    for n in 1..=51 {
        let request = talk_runtime::grpc::acting(
            h.caller(&alice),
            EditMessageRequest {
                options: None,
                message_id: message.id.clone(),
                text: format!("v{n}"),
            },
        );
        api(h.client.clone().edit_message(request).await).unwrap();
    }
    let request = talk_runtime::grpc::acting(
        h.caller(&alice),
        MessageRef {
            message_id: message.id.clone(),
        },
    );
    let history = api(h.client.clone().list_history(request).await)
        .unwrap()
        .edits;
    let texts: Vec<_> = history.iter().map(|e| e.text.clone()).collect();
    let expected: Vec<_> = (1..=50).map(|n| format!("v{n}")).collect();
    assert_eq!(texts, expected);
    h.stop().await;
}
