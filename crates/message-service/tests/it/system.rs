//! System messages from bus events, exactly once.

use std::time::Duration;

use talk_events::Bus;
use talk_events::kinds::{ParticipantJoined, TalkClosed, TalkReopened, envelope};
use talk_proto::{EventEnvelope, ListMessagesRequest, Message, Participant, Talk};
use talk_types::{CustomerId, TalkId};

use crate::harness::{Harness, api};

async fn publish(h: &Harness, event: &EventEnvelope, bus_id: &str) {
    let subject = talk_events::kinds::subject(&h.config.subject_prefix, event);
    h.bus
        .publish(
            &subject,
            bus_id,
            "",
            talk_events::kinds::encode(event).into(),
        )
        .await
        .unwrap();
}

async fn messages(h: &Harness, agent: &str, talk: &str) -> Vec<Message> {
    let request = talk_runtime::grpc::acting(
        h.caller(agent),
        ListMessagesRequest {
            talk_id: talk.to_owned(),
            page: None,
        },
    );
    let mut list = api(h.client.clone().list_messages(request).await)
        .unwrap()
        .messages;
    list.reverse();
    list
}

/// Polls until the talk has `n` messages (the consumer is asynchronous).
async fn wait_for(h: &Harness, agent: &str, talk: &str, n: usize) -> Vec<Message> {
    for _ in 0..250 {
        let list = messages(h, agent, talk).await;
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("talk never reached {n} messages");
}

#[tokio::test]
async fn a_join_delivered_twice_makes_one_system_message() {
    let mut h = Harness::start().await;
    let (alice, bob) = (h.agent(), h.agent());
    h.agents.name(&bob, "Bob Builder");
    let talk = h.talk("group", &[&alice, &bob]);
    let customer: CustomerId = h.customer.parse().unwrap();
    let talk_id: TalkId = talk.parse().unwrap();
    let joined = envelope(
        ParticipantJoined(Participant {
            id: uuid::Uuid::new_v4().to_string(),
            customer_id: h.customer.clone(),
            owner_type: "agent".into(),
            owner_id: bob.clone(),
            chat_id: talk.clone(),
            state: "active".into(),
            ..Default::default()
        }),
        customer,
        talk_id,
        String::new(),
    );
    publish(&h, &joined, "bus-1").await;
    let list = wait_for(&h, &alice, &talk, 1).await;
    assert_eq!(list[0].r#type, "system");
    assert_eq!(list[0].text, "Bob Builder joined the conversation.");
    assert_eq!(list[0].owner_type, "agent");
    assert_eq!(list[0].owner_id, bob);
    assert_eq!(list[0].seq, 1);

    // The same event again (a redelivery), then a later one: the bus is ordered,
    // so once the later one is written the duplicate has been handled.
    publish(&h, &joined, "bus-2").await;
    let talk_wire = Talk {
        id: talk.clone(),
        customer_id: h.customer.clone(),
        state: "closed".into(),
        ..Default::default()
    };
    publish(
        &h,
        &envelope(
            TalkClosed(talk_wire.clone()),
            customer,
            talk_id,
            String::new(),
        ),
        "bus-3",
    )
    .await;
    let list = wait_for(&h, &alice, &talk, 2).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].text, "The conversation was closed.");
    assert_eq!(list[1].owner_type, "system");
    assert_eq!(list[1].owner_id, talk);

    // After a restart the consumer resumes from its cursor: nothing is written twice.
    h.halt().await;
    publish(&h, &joined, "bus-4").await;
    publish(
        &h,
        &envelope(TalkReopened(talk_wire), customer, talk_id, String::new()),
        "bus-5",
    )
    .await;
    h.boot().await;
    let list = wait_for(&h, &alice, &talk, 3).await;
    let texts: Vec<_> = list.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Bob Builder joined the conversation.",
            "The conversation was closed.",
            "The conversation was reopened."
        ]
    );
    assert_eq!(list.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
    h.stop().await;
}
