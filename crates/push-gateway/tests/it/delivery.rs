//! Topics, naming modes, once-only delivery and live membership.

use serde_json::json;
use talk_types::{AgentId, CustomerId, TalkId};

use crate::support::{Client, World, every_kind, joined, left, posted};

#[tokio::test]
async fn refused_topics_get_an_error_frame_then_4403() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let agent = world.agent(&[]);
    let stranger = world.agent(&[]);
    let forbidden = [
        format!("agent_id:{}:chat", stranger.id),
        format!("customer_id:{}:chat", world.customer),
        "agent_id:not-a-uuid:chat".to_owned(),
        "queue_id:00000000-0000-0000-0000-000000000001".to_owned(),
    ];
    for topic in forbidden {
        let mut client = Client::connect(&gateway.url(&format!("?token={}", agent.token))).await;
        client
            .send(json!({"type": "subscribe", "topics": [topic]}))
            .await;
        let error = client.frame().await;
        assert_eq!(error["type"], "error", "{topic}");
        assert!(error["data"]["reason"].is_string() && error["data"]["message"].is_string());
        assert_eq!(
            client.closed().await.0,
            push_gateway::close::FORBIDDEN_TOPIC,
            "{topic}"
        );
    }
    // Unparsable frames get an error frame and the connection stays.
    let mut client = gateway.subscribed(&agent).await;
    client.send(json!({"type": "dance"})).await;
    assert_eq!(client.frame().await["data"]["reason"], "INVALID_FRAME");
    client.send(json!("not an object")).await;
    assert_eq!(client.frame().await["type"], "error");
    let before = client
        .request(json!({"type": "unsubscribe", "topics": []}))
        .await;
    assert!(before.is_empty());
}

#[tokio::test]
async fn every_kind_arrives_in_both_namings_with_rest_shapes() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let mut seed = gateway.subscribed(&agent).await;
    let mut voipbin =
        Client::connect(&gateway.url(&format!("?token={}&events=voipbin", agent.token))).await;
    voipbin
        .subscribe(&[format!("agent_id:{}:chat:{talk}", agent.id)])
        .await;
    let events = every_kind(world.customer, talk, agent.id);
    let last = world.publish(&events).await;

    let seed_names = [
        "talk_created",
        "talk_updated",
        "talk_closed",
        "talk_reopened",
        "participant_joined",
        "message_created",
        "message_updated",
        "reaction_added",
        "reaction_removed",
        "message_deleted",
        "talk_deleted",
        "participant_left",
    ];
    let voipbin_names = [
        "chat_created",
        "chat_updated",
        "chat_updated",
        "chat_updated",
        "chatparticipant_added",
        "chatmessage_created",
        "chatmessage_updated",
        "chatmessage_reaction_updated",
        "chatmessage_reaction_updated",
        "chatmessage_deleted",
        "chat_deleted",
        "chatparticipant_removed",
    ];
    let first = last - events.len() as u64 + 1;
    for (client, names) in [(&mut seed, seed_names), (&mut voipbin, voipbin_names)] {
        for (i, name) in names.iter().enumerate() {
            let frame = client.frame().await;
            assert_eq!(frame["type"], *name);
            assert_eq!(frame["cursor"], (first + i as u64).to_string());
            assert_eq!(frame["topic"], format!("agent_id:{}:chat:{talk}", agent.id));
            let data = &frame["data"];
            match i {
                0..=3 | 10 => {
                    assert_eq!(data["id"], talk.to_string());
                    assert_eq!(data["type"], "group");
                    assert_eq!(data["tm_create"], "2023-11-14T22:13:20.000000Z");
                }
                4 | 11 => {
                    assert_eq!(data["owner_id"], agent.id.to_string());
                    assert_eq!(data["chat_id"], talk.to_string());
                    assert_eq!(data["owner_type"], "agent");
                }
                _ => {
                    assert_eq!(data["chat_id"], talk.to_string());
                    assert_eq!(data["text"], "hello");
                    assert!(data["metadata"]["reactions"].is_array());
                    if i == 7 {
                        // The reaction event carries the whole message with its reactions.
                        assert_eq!(data["metadata"]["reactions"][0]["emoji"], "👍");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn overlapping_topics_deliver_once_and_admins_may_use_the_customer_topic() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let admin = world.admin(&[talk]);
    let mut client = Client::connect(&gateway.url(&format!("?token={}", admin.token))).await;
    client
        .subscribe(&[
            format!("agent_id:{}:chat", admin.id),
            format!("agent_id:{}:chat:{talk}", admin.id),
            format!("agent_id:{}", admin.id),
            format!("customer_id:{}:chat", world.customer),
        ])
        .await;
    world
        .publish(&[
            posted(world.customer, talk, admin.id, "one"),
            posted(world.customer, talk, admin.id, "two"),
        ])
        .await;
    assert_eq!(client.texts_until("two").await, ["one", "two"]);

    // With only the customer topic, the frame names it.
    let mut by_customer = Client::connect(&gateway.url(&format!("?token={}", admin.token))).await;
    by_customer
        .subscribe(&[format!("customer_id:{}:chat", world.customer)])
        .await;
    world
        .publish(&[posted(world.customer, talk, admin.id, "three")])
        .await;
    let frame = by_customer.frame().await;
    assert_eq!(
        frame["topic"],
        format!("customer_id:{}:chat:{talk}", world.customer)
    );
    assert_eq!(client.texts_until("three").await, ["three"]);
}

#[tokio::test]
async fn non_members_and_other_customers_receive_nothing() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let public = TalkId::new();
    let own = TalkId::new();
    let member = world.agent(&[public]);
    let outsider = world.agent(&[own]);
    let foreign = world.agent_of(CustomerId::new(), talk_auth::PERMISSION_ADMIN, &[own]);
    let mut outsider_ws = gateway.subscribed(&outsider).await;
    let mut foreign_ws = gateway.subscribed(&foreign).await;
    let mut foreign_admin =
        Client::connect(&gateway.url(&format!("?token={}", foreign.token))).await;
    foreign_admin
        .subscribe(&[format!("customer_id:{}:chat", foreign.customer)])
        .await;

    let mut events = every_kind(world.customer, public, member.id);
    // The sentinel: the first thing the outsider may receive.
    events.push(posted(world.customer, own, outsider.id, "sentinel"));
    world.publish(&events).await;
    assert_eq!(outsider_ws.texts_until("sentinel").await, ["sentinel"]);

    // The foreign agent's talk id equals `own`, but its customer differs: nothing
    // arrives until an event of its own customer.
    world
        .publish(&[posted(foreign.customer, own, foreign.id, "foreign")])
        .await;
    assert_eq!(foreign_ws.texts_until("foreign").await, ["foreign"]);
    assert_eq!(foreign_admin.texts_until("foreign").await, ["foreign"]);
}

#[tokio::test]
async fn joins_and_leaves_take_effect_live() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let elsewhere = TalkId::new();
    let alice = world.agent(&[talk]);
    let bob = world.agent(&[elsewhere]);
    let mut alice_ws = gateway.subscribed(&alice).await;
    let mut bob_ws = gateway.subscribed(&bob).await;
    let c = world.customer;
    world
        .publish(&[
            posted(c, talk, alice.id, "before join"),
            joined(c, talk, bob.id),
            posted(c, talk, alice.id, "while member"),
            left(c, talk, bob.id),
            posted(c, talk, alice.id, "after leave"),
            posted(c, elsewhere, bob.id, "sentinel"),
        ])
        .await;
    let bob_frames: Vec<(String, String)> = {
        let mut frames = Vec::new();
        loop {
            let frame = bob_ws.frame().await;
            let text = frame["data"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            frames.push((frame["type"].as_str().unwrap().to_owned(), text.clone()));
            if text == "sentinel" {
                break frames;
            }
        }
    };
    let expected = [
        ("participant_joined", ""),
        ("message_created", "while member"),
        ("participant_left", ""),
        ("message_created", "sentinel"),
    ];
    assert_eq!(
        bob_frames,
        expected.map(|(t, x)| (t.to_owned(), x.to_owned()))
    );
    assert_eq!(
        alice_ws.texts_until("after leave").await,
        ["before join", "", "while member", "", "after leave"]
    );
}

#[tokio::test]
async fn an_audience_reaches_a_member_the_gateway_does_not_know_yet() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let elsewhere = TalkId::new();
    let alice = world.agent(&[talk]);
    // Bob was just added to `talk`, but his participant_joined is not on the bus.
    let bob = world.agent(&[elsewhere]);
    let carol = world.agent(&[elsewhere]);
    let mut alice_ws = gateway.subscribed(&alice).await;
    let mut bob_ws = gateway.subscribed(&bob).await;
    let mut carol_ws = gateway.subscribed(&carol).await;
    let c = world.customer;
    let with_audience = |text: &str, audience: &[AgentId]| {
        let mut e = posted(c, talk, alice.id, text);
        e.audience = audience.iter().map(ToString::to_string).collect();
        e
    };
    let last = world
        .publish(&[
            with_audience("overtook the join", &[alice.id, bob.id]),
            posted(c, elsewhere, bob.id, "sentinel"),
        ])
        .await;
    assert_eq!(
        bob_ws.texts_until("sentinel").await,
        ["overtook the join", "sentinel"]
    );
    assert_eq!(
        alice_ws.texts_until("overtook the join").await,
        ["overtook the join"]
    );
    // Not in the audience, not a member: nothing but its own talk's sentinel.
    assert_eq!(carol_ws.texts_until("sentinel").await, ["sentinel"]);

    // A resume on a new connection replays it too, going by the membership
    // talk-service answers by then.
    world.talks.set(bob.id, &[talk, elsewhere]);
    let query = format!("?token={}&cursor={}", bob.token, last - 2);
    let mut bob_again = Client::connect(&gateway.url(&query)).await;
    bob_again
        .subscribe(&[format!("agent_id:{}:chat", bob.id)])
        .await;
    assert_eq!(
        bob_again.texts_until("sentinel").await,
        ["overtook the join", "sentinel"]
    );

    // Once his removal was delivered, an audience computed before it no longer
    // reaches him: the removal stays the last event of the talk he gets.
    world
        .publish(&[
            left(c, talk, bob.id),
            with_audience("stale audience", &[alice.id, bob.id]),
            posted(c, elsewhere, bob.id, "after"),
        ])
        .await;
    let frame = bob_ws.frame().await;
    assert_eq!(frame["type"], "participant_left");
    assert_eq!(bob_ws.texts_until("after").await, ["after"]);
    assert_eq!(
        alice_ws.texts_until("stale audience").await,
        ["", "stale audience"]
    );
}
