//! The Talk overview's three scenarios: a team discussion, a quick 👍/👎 decision, a support escalation.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use talk_e2e::client::assert_error;

use super::{
    WAIT, counts, frame_about, group, id, listen, listing, message, post_chat, react, reactions,
    reply, results, say, seqs, start, tally, text, texts, thread, unreact, unread,
};

/// A team talks in a group: a proposal gets replies in its thread (and a reply
/// to a reply), reactions mark agreement, and everyone sees the same history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_team_discussion_with_threads_and_reactions() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (carol_id, carol) = admin.create_agent("carol", "Carol").await?;

    let talk = alice
        .post(
            "/v1.0/service_agents/talk_chats",
            json!({"type": "group", "name": "design-team", "participants": [
                {"owner_type": "agent", "owner_id": bob_id},
                {"owner_type": "agent", "owner_id": carol_id},
            ]}),
            200,
        )
        .await?;
    assert_eq!(talk["member_count"], 3);
    let talk = id(&talk);

    let proposal = post_chat(
        &alice,
        &talk,
        "Proposal: stand-up moves to 9:30 from next week.",
        json!({}),
    )
    .await?;
    assert_eq!(proposal["owner_id"], alice_id.as_str());
    assert_eq!(proposal["type"], "normal");
    assert_eq!(proposal["reply_count"], 0);
    assert_eq!(proposal["seq"], 1);
    assert!(
        proposal.get("parent_id").is_none(),
        "top-level has no parent_id"
    );
    assert_eq!(
        proposal["metadata"],
        json!({"reactions": [], "reaction_counts": []})
    );
    let proposal = id(&proposal);

    let notes = say(&bob, &talk, "Unrelated: the 2.4 release notes are ready.").await?;
    let works = reply(&carol, &talk, &proposal, "9:30 works for me.").await?;
    assert_eq!(works["parent_id"], proposal.as_str());
    let prefer = post_chat(
        &bob,
        &talk,
        "I'd prefer 9:45 (school run).",
        json!({"parent_id": proposal}),
    )
    .await?;
    let settle = reply(&alice, &talk, &id(&prefer), "9:45 it is, then?").await?;
    assert_eq!(
        settle["parent_id"], prefer["id"],
        "a reply to a reply threads under the reply"
    );

    react(&bob, &id(&settle), "👍").await?;
    react(&carol, &id(&settle), "👍").await?;
    let settled = react(&carol, &id(&settle), "🎉").await?;
    assert_eq!(tally(&settled), counts(&[("👍", 2), ("🎉", 1)]));
    assert_eq!(
        reactions(&settled),
        vec![
            ("👍".to_owned(), bob_id.clone()),
            ("👍".to_owned(), carol_id.clone()),
            ("🎉".to_owned(), carol_id.clone()),
        ],
        "reactions in the order they were added"
    );
    let hearted = alice
        .post(
            &format!(
                "/v1.0/service_agents/talk_messages/{}/reactions",
                id(&notes)
            ),
            json!({"emoji": "❤️"}),
            200,
        )
        .await?;
    assert_eq!(reactions(&hearted), vec![("❤️".to_owned(), alice_id)]);

    // The proposal's thread, in order, with the reply to a reply in it.
    let whole = thread(&carol, &proposal).await?;
    assert_eq!(
        texts(&whole),
        [
            "Proposal: stand-up moves to 9:30 from next week.",
            "9:30 works for me.",
            "I'd prefer 9:45 (school run).",
            "9:45 it is, then?",
        ]
    );
    assert_eq!(
        texts(&thread(&alice, &id(&prefer)).await?),
        ["I'd prefer 9:45 (school run).", "9:45 it is, then?"]
    );
    assert_eq!(message(&bob, &proposal).await?["reply_count"], 2);
    assert_eq!(message(&bob, &id(&prefer)).await?["reply_count"], 1);

    // Everyone reads the same history, newest first, through VoIPBIN's listing.
    let history = carol
        .get(&format!(
            "/v1.0/service_agents/talk_messages?chat_id={talk}"
        ))
        .await?;
    let history = results(&history);
    assert_eq!(
        texts(&history),
        [
            "9:45 it is, then?",
            "I'd prefer 9:45 (school run).",
            "9:30 works for me.",
            "Unrelated: the 2.4 release notes are ready.",
            "Proposal: stand-up moves to 9:30 from next week.",
        ]
    );
    assert_eq!(seqs(&history), [5, 4, 3, 2, 1]);
    assert_eq!(tally(&history[0]), counts(&[("👍", 2), ("🎉", 1)]));
    assert_eq!(tally(&history[3]), counts(&[("❤️", 1)]));
    cluster.stop().await;
    Ok(())
}

/// A lead asks a yes/no question; the team votes with 👍 and 👎 at once, one
/// voter changes their mind, a double click counts once, and the tally decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_quick_decision_counted_by_thumbs() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, lead) = admin.create_agent("lead", "Lead").await?;
    let mut voters = Vec::new();
    for name in ["bob", "carol", "dave", "erin"] {
        voters.push(admin.create_agent(name, name).await?);
    }
    let ids: Vec<&str> = voters.iter().map(|(id, _)| id.as_str()).collect();
    let talk = group(&lead, "release", &ids).await?;
    let question = say(&lead, &talk, "Ship 2.4 on Friday? 👍 yes / 👎 no").await?;
    let question = id(&question);

    let votes = ["👍", "👍", "👎", "👎"];
    let cast = join_all(
        voters
            .iter()
            .zip(votes)
            .map(|((_, api), vote)| react(api, &question, vote)),
    )
    .await;
    for vote in cast {
        vote?;
    }
    let counted = message(&lead, &question).await?;
    assert_eq!(tally(&counted), counts(&[("👍", 2), ("👎", 2)]));

    // Erin changes her mind: takes back 👎 (seed path), votes 👍.
    let erin = &voters[3].1;
    let retracted = unreact(erin, &question, "👎").await?.expect(200)?;
    assert_eq!(tally(&retracted), counts(&[("👍", 2), ("👎", 1)]));
    react(erin, &question, "👍").await?;
    // Bob clicks 👍 twice: still one vote.
    let again = react(&voters[0].1, &question, "👍").await?;
    assert_eq!(tally(&again), counts(&[("👍", 3), ("👎", 1)]));
    // Dave withdraws through VoIPBIN's path with a body.
    let withdrawn = voters[2]
        .1
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{question}/reactions"),
            Some(json!({"emoji": "👎"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(tally(&withdrawn), counts(&[("👍", 3)]));
    // The lead votes too, then announces the result in the thread.
    react(&lead, &question, "👍").await?;
    let final_tally = tally(&message(&voters[1].1, &question).await?);
    assert_eq!(final_tally, counts(&[("👍", 4)]));
    let decision = reply(
        &lead,
        &talk,
        &question,
        "Decision: we ship on Friday (4 👍, 0 👎).",
    )
    .await?;
    assert_eq!(
        texts(&thread(&voters[1].1, &question).await?),
        ["Ship 2.4 on Friday? 👍 yes / 👎 no", text(&decision)]
    );
    cluster.stop().await;
    Ok(())
}

/// Support files a ticket (with a screenshot); the lead pulls in an engineer,
/// who reads the thread, answers in it, and support confirms the fix; the talk
/// is closed and takes no more messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_support_escalation_thread_leads_to_confirmation() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (sam_id, sam) = admin.create_agent("sam", "Sam").await?;
    let (lee_id, lee) = admin.create_agent("lee", "Lee").await?;
    let (erin_id, erin) = admin.create_agent("erin", "Erin").await?;
    let talk = group(&sam, "escalations", &[&lee_id]).await?;
    let mut sams_socket = listen(&cluster, &sam, &sam_id).await?;

    let screenshot = json!({"type": "image/png", "url": "https://files.example.com/acme-sso.png", "name": "acme-sso.png"});
    let ticket = sam
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "Ticket 4821: ACME cannot log in since 09:00 (SSO assertion expired).", "medias": [screenshot]}),
            201,
        )
        .await?;
    assert_eq!(ticket["medias"], json!([screenshot]));
    let ticket = id(&ticket);

    // Erin is not in the talk yet: she can neither read nor answer.
    let outside = erin
        .call(
            Method::GET,
            &format!("/v1.0/messages/{ticket}/thread"),
            None,
        )
        .await?;
    assert_error(&outside, 403, "PERMISSION_DENIED");

    let pulling = reply(&lee, &talk, &ticket, "Pulling in Erin from identity.").await?;
    lee.post(
        &format!("/v1.0/talks/{talk}/participants"),
        json!({"agent_id": erin_id}),
        201,
    )
    .await?;
    let joined = loop {
        let frame = sams_socket.expect("message_created", WAIT).await?;
        if frame["data"]["type"] == "system" {
            break frame;
        }
    };
    assert_eq!(joined["data"]["text"], "Erin joined the conversation.");
    assert_eq!(joined["data"]["chat_id"], talk.as_str());

    // Now a participant, Erin reads the thread and answers in it.
    assert_eq!(
        texts(&thread(&erin, &ticket).await?),
        [
            "Ticket 4821: ACME cannot log in since 09:00 (SSO assertion expired).",
            "Pulling in Erin from identity.",
        ]
    );
    reply(
        &erin,
        &talk,
        &ticket,
        "The IdP certificate rotated at 08:58; renewing it.",
    )
    .await?;
    reply(&erin, &talk, &ticket, "Renewed. ACME, please retry.").await?;
    let confirmation = reply(
        &sam,
        &talk,
        &ticket,
        "ACME confirms they can log in again. Closing the ticket.",
    )
    .await?;
    let confirmation = id(&confirmation);
    react(&lee, &confirmation, "✅").await?;
    let thanked = react(&erin, &confirmation, "🎉").await?;
    assert_eq!(
        reactions(&thanked),
        vec![
            ("✅".to_owned(), lee_id.clone()),
            ("🎉".to_owned(), erin_id.clone())
        ]
    );
    frame_about(&mut sams_socket, "reaction_added", &confirmation).await?;

    let whole = thread(&sam, &ticket).await?;
    assert_eq!(
        texts(&whole),
        [
            "Ticket 4821: ACME cannot log in since 09:00 (SSO assertion expired).",
            "Pulling in Erin from identity.",
            "The IdP certificate rotated at 08:58; renewing it.",
            "Renewed. ACME, please retry.",
            "ACME confirms they can log in again. Closing the ticket.",
        ]
    );
    assert_eq!(whole[0]["reply_count"], 4);
    assert!(
        whole.iter().all(|m| m["type"] == "normal"),
        "the system message is not part of the thread"
    );

    // Lee has not read what came after his own reply; he catches up.
    let everything = listing(&lee, &talk).await?;
    let lees_seq = pulling["seq"].as_u64().unwrap_or_default();
    let newer_by_others = everything
        .iter()
        .filter(|m| m["seq"].as_u64() > Some(lees_seq) && m["owner_id"] != lee_id.as_str())
        .count() as u64;
    assert_eq!(newer_by_others, 4, "join, two answers, confirmation");
    assert_eq!(unread(&lee, &talk).await?, newer_by_others);
    let last_seq = everything[0]["seq"].clone();
    let read = lee
        .post(
            &format!("/v1.0/talks/{talk}/read"),
            json!({"seq": last_seq}),
            200,
        )
        .await?;
    assert_eq!(read["unread_count"], 0);
    assert_eq!(read["last_read_seq"], last_seq);
    assert_eq!(unread(&lee, &talk).await?, 0);

    // The ticket is done: Sam closes the talk, which then takes no messages.
    sam.post(&format!("/v1.0/talks/{talk}/close"), json!({}), 200)
        .await?;
    let late = sam
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "one more thing"})),
        )
        .await?;
    assert_error(&late, 409, "TALK_CLOSED");
    let closed = loop {
        let frame = sams_socket.expect("message_created", WAIT).await?;
        if frame["data"]["type"] == "system" {
            break frame;
        }
    };
    assert_eq!(closed["data"]["text"], "The conversation was closed.");
    cluster.stop().await;
    Ok(())
}
