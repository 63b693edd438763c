//! Catch-up by change number, read positions and unread counts.

use talk_proto::{
    EditMessageRequest, ListChangesRequest, MarkReadRequest, ReadState, UnreadCountsRequest,
};
use talk_types::ApiError;

use crate::harness::{Harness, api, assert_err};

async fn mark(h: &Harness, agent: &str, talk: &str, seq: u64) -> Result<ReadState, ApiError> {
    let request = talk_runtime::grpc::acting(
        h.caller(agent),
        MarkReadRequest {
            options: None,
            talk_id: talk.to_owned(),
            seq,
        },
    );
    api(h.client.clone().mark_read(request).await)
}

#[tokio::test]
async fn changes_after_a_change_number_cover_posts_edits_and_reactions() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let m1 = h.post(&alice, &talk, "one").await.unwrap();
    let m2 = h.post(&bob, &talk, "two").await.unwrap();
    let changes = |after: u64| {
        let request = talk_runtime::grpc::acting(
            h.caller(&bob),
            ListChangesRequest {
                talk_id: talk.clone(),
                after_seq: after,
                limit: 0,
            },
        );
        let mut client = h.client.clone();
        async move { api(client.list_changes(request).await).unwrap().messages }
    };
    let all = changes(0).await;
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
    let mark_point = m2.change_seq;
    assert!(changes(mark_point).await.is_empty());

    let edit = talk_runtime::grpc::acting(
        h.caller(&alice),
        EditMessageRequest {
            options: None,
            message_id: m1.id.clone(),
            text: "one, edited".into(),
        },
    );
    api(h.client.clone().edit_message(edit).await).unwrap();
    let m3 = h.post(&alice, &talk, "three").await.unwrap();
    let since = changes(mark_point).await;
    let ids: Vec<_> = since.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [m1.id.as_str(), m3.id.as_str()]);
    assert_eq!(since[0].text, "one, edited");
    let after_edit = changes(since[0].change_seq).await;
    assert_eq!(after_edit.len(), 1);

    let other = h.agent();
    let outsider = talk_runtime::grpc::acting(
        h.caller(&other),
        ListChangesRequest {
            talk_id: talk.clone(),
            after_seq: 0,
            limit: 10,
        },
    );
    assert_err(
        api(h.client.clone().list_changes(outsider).await),
        403,
        "PERMISSION_DENIED",
    );
    h.stop().await;
}

#[tokio::test]
async fn read_positions_and_unread_counts() {
    let h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    let talk = h.talk("group", &[&alice, &bob]);
    let quiet = h.talk("group", &[&alice, &bob]);
    for text in ["a", "b", "c"] {
        h.post(&alice, &talk, text).await.unwrap();
    }
    let counts = |agent: &str| {
        let request = talk_runtime::grpc::acting(
            h.caller(agent),
            UnreadCountsRequest {
                talk_ids: vec![talk.clone(), quiet.clone()],
            },
        );
        let mut client = h.client.clone();
        async move { api(client.unread_counts(request).await).unwrap().states }
    };
    let bob_counts = counts(&bob).await;
    assert_eq!(bob_counts[0].talk_id, talk);
    assert_eq!(
        (
            bob_counts[0].last_seq,
            bob_counts[0].last_read_seq,
            bob_counts[0].unread_count
        ),
        (3, 0, 3)
    );
    assert_eq!(
        (
            bob_counts[1].last_seq,
            bob_counts[1].last_read_seq,
            bob_counts[1].unread_count
        ),
        (0, 0, 0)
    );
    // The author has read its own messages.
    let alice_counts = counts(&alice).await;
    assert_eq!(
        (alice_counts[0].last_read_seq, alice_counts[0].unread_count),
        (3, 0)
    );

    let state = mark(&h, &bob, &talk, 2).await.unwrap();
    assert_eq!(
        (state.last_seq, state.last_read_seq, state.unread_count),
        (3, 2, 1)
    );
    // Never backwards.
    let state = mark(&h, &bob, &talk, 1).await.unwrap();
    assert_eq!(state.last_read_seq, 2);
    assert_err(mark(&h, &bob, &talk, 4).await, 400, "INVALID_SEQ");
    assert_err(mark(&h, &bob, "nope", 1).await, 400, "INVALID_ID");

    // Bob posts: his position moves to his own message.
    h.post(&bob, &talk, "d").await.unwrap();
    let bob_counts = counts(&bob).await;
    assert_eq!(
        (
            bob_counts[0].last_seq,
            bob_counts[0].last_read_seq,
            bob_counts[0].unread_count
        ),
        (4, 4, 0)
    );
    let alice_counts = counts(&alice).await;
    assert_eq!(alice_counts[0].unread_count, 1);

    let bad = talk_runtime::grpc::acting(
        h.caller(&bob),
        UnreadCountsRequest {
            talk_ids: vec!["x".into()],
        },
    );
    assert_err(
        api(h.client.clone().unread_counts(bad).await),
        400,
        "INVALID_ID",
    );
    h.stop().await;
}
