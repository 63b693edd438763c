//! Messages through the public API, both path families: the Talk overview's
//! three scenarios (a team discussion, a quick 👍/👎 decision, a support
//! escalation), then each rule on its own — seqs under concurrent posts,
//! concurrent reactions, threads, media, edits, deletes, reactions, read
//! state, catch-up, VoIPBIN's history paging, who may see what, idempotent
//! posts, and malformed input that changes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::client::Reply;
use talk_e2e::client::assert_error;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Socket, Topology};

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> anyhow::Result<(Cluster, Api)> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    Ok((cluster, admin))
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn text(value: &Value) -> &str {
    value["text"].as_str().unwrap_or_default()
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(text).collect()
}

fn seqs(messages: &[Value]) -> Vec<u64> {
    messages.iter().filter_map(|m| m["seq"].as_u64()).collect()
}

fn results(page: &Value) -> Vec<Value> {
    page["result"].as_array().cloned().unwrap_or_default()
}

/// A group talk made by `creator` with every member in it from the start, so
/// no "joined" system message takes a seq.
async fn group(creator: &Api, name: &str, members: &[&str]) -> anyhow::Result<String> {
    let talk = creator
        .post(
            "/v1.0/talks",
            json!({"type": "group", "name": name, "participant_ids": members}),
            201,
        )
        .await?;
    Ok(id(&talk))
}

/// Posts `text` through the seed family (`201`).
async fn say(api: &Api, talk: &str, text: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/talks/{talk}/messages"),
        json!({"text": text}),
        201,
    )
    .await
}

/// Posts a reply in `parent`'s thread through the seed family.
async fn reply(api: &Api, talk: &str, parent: &str, text: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/talks/{talk}/messages"),
        json!({"text": text, "parent_id": parent}),
        201,
    )
    .await
}

/// Posts through VoIPBIN's family (`200`), with extra body fields.
async fn post_chat(api: &Api, talk: &str, text: &str, extra: Value) -> anyhow::Result<Value> {
    let mut body = json!({"chat_id": talk, "type": "normal", "text": text});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    api.post("/v1.0/service_agents/talk_messages", body, 200)
        .await
}

async fn react(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Value> {
    api.post(
        &format!("/v1.0/messages/{message}/reactions"),
        json!({"emoji": emoji}),
        200,
    )
    .await
}

/// The emoji in a URL path, percent-encoded byte by byte.
fn encode(emoji: &str) -> String {
    emoji.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Removes the caller's `emoji` with the seed's `DELETE …/reactions/{emoji}`.
async fn unreact(api: &Api, message: &str, emoji: &str) -> anyhow::Result<Reply> {
    api.call(
        Method::DELETE,
        &format!("/v1.0/messages/{message}/reactions/{}", encode(emoji)),
        None,
    )
    .await
}

/// `(emoji, owner_id)` of every reaction on a message, in order.
fn reactions(message: &Value) -> Vec<(String, String)> {
    message["metadata"]["reactions"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|r| {
                    let field = |f: &str| r[f].as_str().unwrap_or_default().to_owned();
                    (field("emoji"), field("owner_id"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How many agents reacted with each emoji.
fn tally(message: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (emoji, _) in reactions(message) {
        *counts.entry(emoji).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(e, n)| ((*e).to_owned(), *n)).collect()
}

/// Every message of a talk, newest first (one page of up to 100).
async fn listing(api: &Api, talk: &str) -> anyhow::Result<Vec<Value>> {
    Ok(results(
        &api.get(&format!("/v1.0/talks/{talk}/messages?page_size=100"))
            .await?,
    ))
}

async fn message(api: &Api, message: &str) -> anyhow::Result<Value> {
    api.get(&format!("/v1.0/messages/{message}")).await
}

async fn thread(api: &Api, message: &str) -> anyhow::Result<Vec<Value>> {
    Ok(results(
        &api.get(&format!("/v1.0/messages/{message}/thread")).await?,
    ))
}

/// The caller's `unread_count` for `talk` in both families' talk listings
/// (which must agree).
async fn unread(api: &Api, talk: &str) -> anyhow::Result<u64> {
    let mut seen = Vec::new();
    for path in ["/v1.0/talks", "/v1.0/service_agents/talk_chats"] {
        let page = api.get(path).await?;
        let found = results(&page)
            .into_iter()
            .find(|t| t["id"] == talk)
            .and_then(|t| t["unread_count"].as_u64());
        seen.push(found.unwrap_or(u64::MAX));
    }
    assert_eq!(seen[0], seen[1], "both listings agree on unread_count");
    Ok(seen[0])
}

/// A socket of `agent`, subscribed to every talk it is in.
async fn listen(cluster: &Cluster, api: &Api, agent: &str) -> anyhow::Result<Socket> {
    Socket::listen(
        &cluster.push,
        api.token.as_deref().unwrap_or_default(),
        agent,
        "",
    )
    .await
}

/// The next `kind` frame about message `message` (others are skipped).
async fn frame_about(socket: &mut Socket, kind: &str, message: &str) -> anyhow::Result<Value> {
    loop {
        let frame = socket.expect(kind, WAIT).await?;
        if frame["data"]["id"] == message {
            return Ok(frame);
        }
    }
}

// ---------------------------------------------------------------------------
// The Talk overview's scenarios
// ---------------------------------------------------------------------------

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
    assert_eq!(proposal["metadata"], json!({"reactions": []}));
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

// ---------------------------------------------------------------------------
// Rules, one at a time
// ---------------------------------------------------------------------------

/// 50 posts at once to one talk get seqs 1..=50, no gap, no duplicate, and
/// the listing shows them in seq order; 20 agents reacting at once all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_get_gapless_seqs_and_concurrent_reactions_all_land() -> anyhow::Result<()>
{
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let created = join_all((0..20).map(|i| {
        let admin = admin.clone();
        async move {
            admin
                .create_agent(&format!("agent{i}"), &format!("Agent {i}"))
                .await
        }
    }))
    .await;
    let agents = created.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let ids: Vec<&str> = agents.iter().map(|(id, _)| id.as_str()).collect();
    // Everyone is in from the start: no system message takes a seq.
    let talk = group(&alice, "busy", &ids).await?;

    let posted = join_all((0..50).map(|i| {
        let api = if i % 5 == 0 {
            alice.clone()
        } else {
            agents[i % 20].1.clone()
        };
        let talk = talk.clone();
        async move {
            if i % 2 == 0 {
                say(&api, &talk, &format!("post {i}")).await
            } else {
                post_chat(&api, &talk, &format!("post {i}"), json!({})).await
            }
        }
    }))
    .await;
    let posted = posted.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let mut got = seqs(&posted);
    got.sort_unstable();
    assert_eq!(got, (1..=50).collect::<Vec<u64>>());

    let all = listing(&alice, &talk).await?;
    assert_eq!(all.len(), 50);
    assert_eq!(
        seqs(&all),
        (1..=50).rev().collect::<Vec<u64>>(),
        "newest first is seq order: seqs follow commit order"
    );
    let talk_now = alice.get(&format!("/v1.0/talks/{talk}")).await?;
    assert_eq!(talk_now["last_seq"], 50);

    let target = id(&posted[0]);
    let reacted = join_all(agents.iter().map(|(_, api)| react(api, &target, "👍"))).await;
    for r in reacted {
        r?;
    }
    let after = message(&alice, &target).await?;
    let mut owners: Vec<String> = reactions(&after).into_iter().map(|(_, o)| o).collect();
    owners.sort();
    let mut expected: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(owners, expected, "one 👍 per agent, none lost");
    assert_eq!(tally(&after), counts(&[("👍", 20)]));
    cluster.stop().await;
    Ok(())
}

/// Threads: parent and reply counts, thread listing in order at any depth,
/// parents must be in the same talk, deleted parents still take replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_follow_their_rules() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "here", &[&bob_id]).await?;
    let other_talk = group(&alice, "elsewhere", &[&bob_id]).await?;

    let root = id(&say(&alice, &talk, "root").await?);
    let first = id(&reply(&bob, &talk, &root, "first reply").await?);
    let deeper = reply(&alice, &talk, &first, "reply to a reply").await?;
    assert_eq!(deeper["parent_id"], first.as_str());
    post_chat(&bob, &talk, "second reply", json!({"parent_id": root})).await?;

    assert_eq!(
        texts(&thread(&alice, &root).await?),
        ["root", "first reply", "reply to a reply", "second reply"]
    );
    assert_eq!(
        texts(&thread(&bob, &first).await?),
        ["first reply", "reply to a reply"]
    );
    assert_eq!(message(&alice, &root).await?["reply_count"], 2);
    assert_eq!(message(&alice, &first).await?["reply_count"], 1);
    assert_eq!(message(&alice, &id(&deeper)).await?["reply_count"], 0);

    // A parent in another talk, or no such message: 400, nothing posted.
    let elsewhere = id(&say(&alice, &other_talk, "elsewhere").await?);
    let before = listing(&alice, &talk).await?;
    let cross = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "sneaky", "parent_id": elsewhere})),
        )
        .await?;
    assert_error(&cross, 400, "INVALID_PARENT");
    let cross_voipbin = alice
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            Some(json!({"chat_id": talk, "type": "normal", "text": "sneaky", "parent_id": elsewhere})),
        )
        .await?;
    assert_error(&cross_voipbin, 400, "INVALID_PARENT");
    let unknown = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "to nobody", "parent_id": uuid::Uuid::new_v4()})),
        )
        .await?;
    assert_error(&unknown, 400, "INVALID_PARENT");
    let bad = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "to nobody", "parent_id": "message-1"})),
        )
        .await?;
    assert_error(&bad, 400, "INVALID_ID");
    assert_eq!(listing(&alice, &talk).await?, before, "nothing changed");
    assert_eq!(message(&alice, &elsewhere).await?["reply_count"], 0);

    // VoIPBIN's placeholder (nil UUID) means top-level.
    let top = post_chat(
        &alice,
        &talk,
        "top level",
        json!({"parent_id": "00000000-0000-0000-0000-000000000000"}),
    )
    .await?;
    assert!(top.get("parent_id").is_none());

    // A deleted message keeps its thread and still takes replies.
    let doomed = id(&say(&alice, &talk, "about to be deleted").await?);
    alice
        .call(Method::DELETE, &format!("/v1.0/messages/{doomed}"), None)
        .await?
        .expect(200)?;
    let late = reply(&bob, &talk, &doomed, "replying anyway").await?;
    assert_eq!(late["parent_id"], doomed.as_str());
    let kept = thread(&bob, &doomed).await?;
    assert_eq!(texts(&kept), ["", "replying anyway"]);
    assert!(kept[0]["tm_delete"].is_string());
    assert_eq!(kept[0]["reply_count"], 1);
    cluster.stop().await;
    Ok(())
}

/// Media of both shapes come back as sent; too many, script URLs, long names
/// and bad ids are refused and post nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_of_both_shapes_are_returned_as_sent_and_validated() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "files", &[&bob_id]).await?;

    let seed = json!([
        {"type": "image/png", "url": "https://files.example.com/chart.png", "name": "chart.png"},
        {"type": "application/pdf", "url": "http://files.example.com/q3.pdf", "name": "Q3 report.pdf"},
    ]);
    let posted = alice
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "the Q3 numbers", "medias": seed}),
            201,
        )
        .await?;
    assert_eq!(posted["medias"], seed);
    assert_eq!(message(&bob, &id(&posted)).await?["medias"], seed);

    let file_id = uuid::Uuid::new_v4().to_string();
    let voipbin = json!([
        {"type": "file", "file_id": file_id},
        {"type": "link", "link_url": "https://example.com/runbook"},
        {"type": "agent", "agent_id": bob_id},
        {"type": "address", "address": {"type": "tel", "target": "+15551234567", "target_name": "Front desk", "name": "Reception", "detail": "main line"}},
    ]);
    let posted = post_chat(&alice, &talk, "", json!({"medias": voipbin})).await?;
    assert_eq!(posted["medias"], voipbin, "a media-only message is fine");
    assert_eq!(message(&bob, &id(&posted)).await?["medias"], voipbin);

    // A real VoIPBIN client sends nil-UUID and {} placeholders for unused fields.
    let placeholders = post_chat(
        &alice,
        &talk,
        "as VoIPBIN clients send it",
        json!({"medias": [{"type": "file", "file_id": file_id, "agent_id": "00000000-0000-0000-0000-000000000000", "address": {}}]}),
    )
    .await?;
    assert_eq!(
        placeholders["medias"],
        json!([{"type": "file", "file_id": file_id}])
    );

    let ten: Vec<Value> = (0..10)
        .map(|i| json!({"type": "image/jpeg", "url": format!("https://img.example.com/{i}.jpg"), "name": format!("{i}.jpg")}))
        .collect();
    let tenth = alice
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "ten pictures", "medias": ten}),
            201,
        )
        .await?;
    assert_eq!(tenth["medias"].as_array().map(Vec::len), Some(10));

    let before = listing(&alice, &talk).await?;
    let mut eleven = ten.clone();
    eleven.push(json!({"type": "image/jpeg", "url": "https://img.example.com/x.jpg"}));
    let long_name = "n".repeat(256);
    let bad_bodies = [
        (
            json!({"text": "eleven", "medias": eleven}),
            "TOO_MANY_MEDIAS",
        ),
        (
            json!({"text": "x", "medias": [{"type": "text/html", "url": "javascript:alert(1)", "name": "x"}]}),
            "INVALID_URL",
        ),
        (
            json!({"text": "x", "medias": [{"type": "link", "link_url": "javascript:alert(document.cookie)"}]}),
            "INVALID_URL",
        ),
        (
            json!({"text": "x", "medias": [{"type": "image/png", "url": "data:image/png;base64,AAAA"}]}),
            "INVALID_URL",
        ),
        (
            json!({"text": "x", "medias": [{"type": "image/png", "url": "https://x.example/a.png", "name": long_name}]}),
            "INVALID_MEDIA",
        ),
        (
            json!({"text": "x", "medias": [{"type": "file", "file_id": "file-1"}]}),
            "INVALID_ID",
        ),
        (
            json!({"text": "x", "medias": [{"type": "banana", "url": "https://x.example"}]}),
            "INVALID_MEDIA",
        ),
        (
            json!({"text": "x", "medias": [{"type": "link"}]}),
            "INVALID_MEDIA",
        ),
    ];
    for (body, reason) in bad_bodies {
        let seed_reply = alice
            .call(
                Method::POST,
                &format!("/v1.0/talks/{talk}/messages"),
                Some(body.clone()),
            )
            .await?;
        assert_error(&seed_reply, 400, reason);
        let mut voipbin_body = body;
        voipbin_body["chat_id"] = json!(talk);
        let voipbin_reply = alice
            .call(
                Method::POST,
                "/v1.0/service_agents/talk_messages",
                Some(voipbin_body),
            )
            .await?;
        assert_error(&voipbin_reply, 400, reason);
    }
    let mut eleven_again = ten;
    eleven_again.push(json!({"type": "image/jpeg", "url": "https://img.example.com/x.jpg"}));
    let too_many = alice
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/messages"),
            Some(json!({"text": "eleven", "medias": eleven_again})),
        )
        .await?;
    assert!(
        too_many.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10")),
        "the refusal says the limit: {}",
        too_many.body
    );
    assert_eq!(listing(&alice, &talk).await?, before, "nothing was posted");
    cluster.stop().await;
    Ok(())
}

/// The author edits (history kept, others refused) and deletes (soft, text
/// and media cleared, once only); the talk hears of both on its sockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_are_the_authors_and_are_announced() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "planning", &[&bob_id]).await?;
    let mut bobs_socket = listen(&cluster, &bob, &bob_id).await?;

    let original = say(&alice, &talk, "Meeting at 3pm").await?;
    let msg = id(&original);
    let edited = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "Meeting at 4pm"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(edited["text"], "Meeting at 4pm");
    assert_eq!(edited["tm_create"], original["tm_create"]);
    assert!(
        edited["tm_update"].as_str() > original["tm_update"].as_str(),
        "tm_update moves: {} -> {}",
        original["tm_update"],
        edited["tm_update"]
    );
    let frame = frame_about(&mut bobs_socket, "message_updated", &msg).await?;
    assert_eq!(frame["data"]["text"], "Meeting at 4pm");

    alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "Meeting at 4:30pm"})),
        )
        .await?
        .expect(200)?;
    let history = results(&bob.get(&format!("/v1.0/messages/{msg}/history")).await?);
    assert_eq!(texts(&history), ["Meeting at 3pm", "Meeting at 4pm"]);
    assert!(history.iter().all(|e| e["tm_edit"].is_string()));

    // Only the author edits; bad edits change nothing.
    let by_bob = bob
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "Meeting cancelled"})),
        )
        .await?;
    assert_error(&by_bob, 403, "NOT_MESSAGE_OWNER");
    let empty = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "  "})),
        )
        .await?;
    assert_error(&empty, 400, "EMPTY_MESSAGE");
    let long = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "a".repeat(20_001)})),
        )
        .await?;
    assert_error(&long, 400, "TEXT_TOO_LONG");
    let nobody = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{}", uuid::Uuid::new_v4()),
            Some(json!({"text": "hello?"})),
        )
        .await?;
    assert_error(&nobody, 404, "MESSAGE_NOT_FOUND");
    assert_eq!(message(&bob, &msg).await?["text"], "Meeting at 4:30pm");
    assert_eq!(
        results(&bob.get(&format!("/v1.0/messages/{msg}/history")).await?).len(),
        2
    );

    // Delete: author only, soft, the thread stays, once only.
    let answer = reply(&bob, &talk, &msg, "I'll book the room.").await?;
    let by_bob = bob
        .call(Method::DELETE, &format!("/v1.0/messages/{msg}"), None)
        .await?;
    assert_error(&by_bob, 403, "NOT_MESSAGE_OWNER");
    let deleted = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{msg}"),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(deleted["text"], "");
    assert!(deleted["tm_delete"].is_string());
    let frame = frame_about(&mut bobs_socket, "message_deleted", &msg).await?;
    assert_eq!(frame["data"]["text"], "");
    assert!(frame["data"]["tm_delete"].is_string());
    let again = alice
        .call(Method::DELETE, &format!("/v1.0/messages/{msg}"), None)
        .await?;
    assert_error(&again, 404, "MESSAGE_NOT_FOUND");
    let edit_deleted = alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{msg}"),
            Some(json!({"text": "back from the dead"})),
        )
        .await?;
    assert_error(&edit_deleted, 404, "MESSAGE_NOT_FOUND");
    let kept = thread(&bob, &msg).await?;
    assert_eq!(texts(&kept), ["", "I'll book the room."]);
    assert_eq!(kept[1]["id"], answer["id"]);
    let seen = message(&bob, &msg).await?;
    assert_eq!(seen["text"], "");
    assert!(seen["tm_delete"].is_string());

    // Deleting clears media too.
    let with_file = alice
        .post(
            &format!("/v1.0/talks/{talk}/messages"),
            json!({"text": "slides", "medias": [{"type": "application/pdf", "url": "https://x.example/s.pdf", "name": "s.pdf"}]}),
            201,
        )
        .await?;
    let gone = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{}", id(&with_file)),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(gone["medias"], json!([]));
    assert_eq!(gone["text"], "");
    cluster.stop().await;
    Ok(())
}

/// Reactions: add by both families, once per agent and emoji, removal by the
/// seed's path and VoIPBIN's body, bad emoji refused; the talk hears of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_are_added_removed_and_announced() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (alice_id, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "lunch", &[&bob_id]).await?;
    let mut alices_socket = listen(&cluster, &alice, &alice_id).await?;
    let msg = id(&say(&alice, &talk, "Lunch at noon?").await?);

    let liked = react(&bob, &msg, "👍").await?;
    let entries = liked["metadata"]["reactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["emoji"], "👍");
    assert_eq!(entries[0]["owner_type"], "agent");
    assert_eq!(entries[0]["owner_id"], bob_id.as_str());
    assert!(entries[0]["tm_create"].is_string());
    let frame = frame_about(&mut alices_socket, "reaction_added", &msg).await?;
    assert_eq!(tally(&frame["data"]), counts(&[("👍", 1)]));

    // Adding the same one again changes nothing and announces nothing: the
    // next reaction event is the next real change.
    let twice = react(&bob, &msg, "👍").await?;
    assert_eq!(reactions(&twice), reactions(&liked));
    let pizza = bob
        .post(
            &format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
            json!({"emoji": "🍕"}),
            200,
        )
        .await?;
    assert_eq!(tally(&pizza), counts(&[("👍", 1), ("🍕", 1)]));
    let frame = alices_socket.expect("reaction_added", WAIT).await?;
    assert_eq!(
        tally(&frame["data"]),
        counts(&[("👍", 1), ("🍕", 1)]),
        "no second event for the duplicate"
    );
    let short = react(&alice, &msg, ":thumbsup:").await?;
    assert_eq!(
        tally(&short),
        counts(&[("👍", 1), ("🍕", 1), (":thumbsup:", 1)])
    );

    // Bad emoji: 400 on both families, nothing changes.
    for bad in ["yummy", ":not_an_emoji:", "", "👍 and more", "thumbsup"] {
        let seed = bob
            .call(
                Method::POST,
                &format!("/v1.0/messages/{msg}/reactions"),
                Some(json!({"emoji": bad})),
            )
            .await?;
        assert_error(&seed, 400, "INVALID_EMOJI");
        let voipbin = bob
            .call(
                Method::POST,
                &format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
                Some(json!({"emoji": bad})),
            )
            .await?;
        assert_error(&voipbin, 400, "INVALID_EMOJI");
    }
    assert_eq!(reactions(&message(&alice, &msg).await?), reactions(&short));

    // Removing: Alice cannot remove Bob's 👍 (she has none); Bob can.
    let not_hers = unreact(&alice, &msg, "👍").await?;
    assert_error(&not_hers, 404, "REACTION_NOT_FOUND");
    let removed = unreact(&bob, &msg, "👍").await?.expect(200)?;
    assert_eq!(tally(&removed), counts(&[("🍕", 1), (":thumbsup:", 1)]));
    let frame = frame_about(&mut alices_socket, "reaction_removed", &msg).await?;
    assert_eq!(
        tally(&frame["data"]),
        counts(&[("🍕", 1), (":thumbsup:", 1)])
    );
    let removed = alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{msg}/reactions/:thumbsup:"),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(tally(&removed), counts(&[("🍕", 1)]));
    let removed = bob
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
            Some(json!({"emoji": "🍕"})),
        )
        .await?
        .expect(200)?;
    assert_eq!(removed["metadata"], json!({"reactions": []}));
    assert_error(&unreact(&bob, &msg, "🍕").await?, 404, "REACTION_NOT_FOUND");
    assert_error(&unreact(&bob, &msg, "nope").await?, 400, "INVALID_EMOJI");

    // A deleted message takes no reactions.
    alice
        .call(Method::DELETE, &format!("/v1.0/messages/{msg}"), None)
        .await?
        .expect(200)?;
    let on_deleted = bob
        .call(
            Method::POST,
            &format!("/v1.0/messages/{msg}/reactions"),
            Some(json!({"emoji": "👍"})),
        )
        .await?;
    assert_error(&on_deleted, 404, "MESSAGE_NOT_FOUND");
    cluster.stop().await;
    Ok(())
}

/// Read state: `POST /talks/{id}/read {seq}` moves the caller's position and
/// both families' talk listings show the caller's own `unread_count`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_positions_drive_unread_counts_in_both_listings() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "news", &[&bob_id]).await?;
    for n in 1..=3 {
        say(&alice, &talk, &format!("news {n}")).await?;
    }
    assert_eq!(unread(&bob, &talk).await?, 3);
    assert_eq!(
        unread(&alice, &talk).await?,
        0,
        "one's own messages are read"
    );
    assert_eq!(
        bob.get(&format!("/v1.0/talks/{talk}")).await?["unread_count"],
        3
    );

    let read = bob
        .post(&format!("/v1.0/talks/{talk}/read"), json!({"seq": 2}), 200)
        .await?;
    assert_eq!(
        read,
        json!({"chat_id": talk, "last_read_seq": 2, "last_seq": 3, "unread_count": 1})
    );
    assert_eq!(unread(&bob, &talk).await?, 1);
    let back = bob
        .post(&format!("/v1.0/talks/{talk}/read"), json!({"seq": 1}), 200)
        .await?;
    assert_eq!(back["last_read_seq"], 2, "a read position never goes back");
    let ahead = bob
        .call(
            Method::POST,
            &format!("/v1.0/talks/{talk}/read"),
            Some(json!({"seq": 99})),
        )
        .await?;
    assert_error(&ahead, 400, "INVALID_SEQ");
    assert_eq!(unread(&bob, &talk).await?, 1);

    // Posting reads everything up to one's own message.
    say(&bob, &talk, "thanks").await?;
    assert_eq!(unread(&bob, &talk).await?, 0);
    assert_eq!(unread(&alice, &talk).await?, 1);

    // A deleted message no longer counts as unread.
    say(&alice, &talk, "news 4").await?;
    let oops = say(&alice, &talk, "wrong channel").await?;
    assert_eq!(unread(&bob, &talk).await?, 2);
    alice
        .call(
            Method::DELETE,
            &format!("/v1.0/messages/{}", id(&oops)),
            None,
        )
        .await?
        .expect(200)?;
    assert_eq!(unread(&bob, &talk).await?, 1);
    cluster.stop().await;
    Ok(())
}

/// Catch-up without a socket: `?after_seq=N` returns exactly the messages
/// that were posted, edited, deleted or reacted to after N, in change order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_seq_returns_everything_that_changed() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "sync", &[&bob_id]).await?;
    let to_edit = id(&say(&alice, &talk, "draft").await?);
    let to_delete = id(&say(&alice, &talk, "mistake").await?);
    let to_react = id(&say(&alice, &talk, "good news").await?);
    let untouched = id(&say(&alice, &talk, "nothing happens to me").await?);

    // Bob's client has seen everything so far; it remembers the newest change.
    let seen = listing(&bob, &talk).await?;
    let cursor = seen
        .iter()
        .filter_map(|m| m["change_seq"].as_u64())
        .max()
        .unwrap_or_default();
    let nothing = bob
        .get(&format!("/v1.0/talks/{talk}/messages?after_seq={cursor}"))
        .await?;
    assert_eq!(nothing, json!({"result": []}));

    // While it is offline: a new message, an edit, a delete, a reaction.
    let fresh = id(&say(&alice, &talk, "new while you were away").await?);
    alice
        .call(
            Method::PUT,
            &format!("/v1.0/messages/{to_edit}"),
            Some(json!({"text": "final"})),
        )
        .await?
        .expect(200)?;
    alice
        .call(Method::DELETE, &format!("/v1.0/messages/{to_delete}"), None)
        .await?
        .expect(200)?;
    react(&alice, &to_react, "🎉").await?;

    let caught = results(
        &bob.get(&format!("/v1.0/talks/{talk}/messages?after_seq={cursor}"))
            .await?,
    );
    let ids: Vec<String> = caught.iter().map(id).collect();
    assert_eq!(
        ids,
        [fresh.clone(), to_edit, to_delete, to_react],
        "in change order"
    );
    assert!(!ids.contains(&untouched));
    assert_eq!(caught[0]["text"], "new while you were away");
    assert_eq!(caught[1]["text"], "final");
    assert_eq!(caught[2]["text"], "");
    assert!(caught[2]["tm_delete"].is_string());
    assert_eq!(tally(&caught[3]), counts(&[("🎉", 1)]));
    let changes: Vec<u64> = caught
        .iter()
        .filter_map(|m| m["change_seq"].as_u64())
        .collect();
    assert!(changes.windows(2).all(|w| w[0] < w[1]) && changes[0] > cursor);

    // From the start: every message once; from the newest change: nothing.
    let all = results(
        &bob.get(&format!("/v1.0/talks/{talk}/messages?after_seq=0"))
            .await?,
    );
    assert_eq!(all.len(), 5);
    let newest = changes.last().copied().unwrap_or_default();
    assert_eq!(
        bob.get(&format!("/v1.0/talks/{talk}/messages?after_seq={newest}"))
            .await?,
        json!({"result": []})
    );
    for bad in ["abc", "-1", "1.5"] {
        let reply = bob
            .call(
                Method::GET,
                &format!("/v1.0/talks/{talk}/messages?after_seq={bad}"),
                None,
            )
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
    }
    cluster.stop().await;
    Ok(())
}

/// VoIPBIN's history listing: `talk_messages?chat_id=`, newest first, paged
/// by `page_size` and the `page_token` of the previous page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_history_listing_pages_newest_first() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "history", &[&bob_id]).await?;
    for n in 1..=7 {
        let api = if n % 2 == 0 { &bob } else { &alice };
        say(api, &talk, &format!("m{n}")).await?;
    }
    let base = format!("/v1.0/service_agents/talk_messages?chat_id={talk}&page_size=3");
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let path = if token.is_empty() {
            base.clone()
        } else {
            format!("{base}&page_token={token}")
        };
        let page = bob.get(&path).await?;
        let items = results(&page);
        let next = page["next_page_token"].as_str().unwrap_or_default();
        match items.last() {
            Some(last) => assert_eq!(last["tm_create"], next, "the token is the last tm_create"),
            None => assert_eq!(next, ""),
        }
        pages.push(
            texts(&items)
                .iter()
                .map(|t| (*t).to_owned())
                .collect::<Vec<_>>(),
        );
        if items.is_empty() || pages.len() > 5 {
            break;
        }
        token = next.to_owned();
    }
    assert_eq!(
        pages,
        [
            vec!["m7", "m6", "m5"],
            vec!["m4", "m3", "m2"],
            vec!["m1"],
            vec![]
        ]
    );
    let seed_first = results(
        &bob.get(&format!("/v1.0/talks/{talk}/messages?page_size=3"))
            .await?,
    );
    assert_eq!(texts(&seed_first), ["m7", "m6", "m5"]);
    let oversized = results(
        &bob.get(&format!(
            "/v1.0/service_agents/talk_messages?chat_id={talk}&page_size=0"
        ))
        .await?,
    );
    assert_eq!(oversized.len(), 7, "page_size 0 means the default (100)");

    let missing = bob
        .call(Method::GET, "/v1.0/service_agents/talk_messages", None)
        .await?;
    assert_error(&missing, 400, "MISSING_REQUEST_PARAMETER");
    let bad_id = bob
        .call(
            Method::GET,
            "/v1.0/service_agents/talk_messages?chat_id=chat-1",
            None,
        )
        .await?;
    assert_error(&bad_id, 400, "INVALID_ID");
    for query in ["page_size=ten", "page_token=yesterday"] {
        let reply = bob
            .call(
                Method::GET,
                &format!("/v1.0/service_agents/talk_messages?chat_id={talk}&{query}"),
                None,
            )
            .await?;
        assert_error(&reply, 400, "INVALID_REQUEST_PARAMETER");
    }
    cluster.stop().await;
    Ok(())
}

/// A non-participant can neither read a private talk nor post nor react
/// (403); in a public talk they read but must join to write. Another
/// customer's agent sees nothing at all (404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_are_refused_and_other_customers_see_nothing() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let (_, dave) = admin.create_agent("dave", "Dave").await?;
    let private = group(&alice, "private", &[&bob_id]).await?;
    let secret = id(&say(&alice, &private, "the secret plan").await?);
    react(&bob, &secret, "👀").await?;
    let public = alice
        .post(
            "/v1.0/talks",
            json!({"type": "talk", "name": "announcements"}),
            201,
        )
        .await?;
    let public = id(&public);
    let welcome = id(&say(&alice, &public, "Welcome, everyone").await?);

    let tries = |talk: &str, msg: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (Method::GET, format!("/v1.0/talks/{talk}/messages"), None),
            (
                Method::GET,
                format!("/v1.0/talks/{talk}/messages?after_seq=0"),
                None,
            ),
            (
                Method::GET,
                format!("/v1.0/service_agents/talk_messages?chat_id={talk}"),
                None,
            ),
            (Method::GET, format!("/v1.0/messages/{msg}"), None),
            (
                Method::GET,
                format!("/v1.0/service_agents/talk_messages/{msg}"),
                None,
            ),
            (Method::GET, format!("/v1.0/messages/{msg}/thread"), None),
            (Method::GET, format!("/v1.0/messages/{msg}/history"), None),
            (
                Method::POST,
                format!("/v1.0/talks/{talk}/read"),
                Some(json!({"seq": 1})),
            ),
        ]
    };
    let writes = |talk: &str, msg: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (
                Method::POST,
                format!("/v1.0/talks/{talk}/messages"),
                Some(json!({"text": "let me in"})),
            ),
            (
                Method::POST,
                "/v1.0/service_agents/talk_messages".to_owned(),
                Some(json!({"chat_id": talk, "type": "normal", "text": "let me in"})),
            ),
            (
                Method::POST,
                format!("/v1.0/messages/{msg}/reactions"),
                Some(json!({"emoji": "👍"})),
            ),
            (
                Method::POST,
                format!("/v1.0/service_agents/talk_messages/{msg}/reactions"),
                Some(json!({"emoji": "👍"})),
            ),
            (
                Method::DELETE,
                format!("/v1.0/messages/{msg}/reactions/{}", encode("👀")),
                None,
            ),
            (
                Method::PUT,
                format!("/v1.0/messages/{msg}"),
                Some(json!({"text": "rewritten"})),
            ),
            (Method::DELETE, format!("/v1.0/messages/{msg}"), None),
        ]
    };

    // Dave, same customer, not in the private talk: 403 for everything.
    for (method, path, body) in tries(&private, &secret)
        .into_iter()
        .chain(writes(&private, &secret))
    {
        let reply = dave.call(method.clone(), &path, body).await?;
        assert_eq!(
            reply.status.as_u16(),
            403,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["status"], "PERMISSION_DENIED");
    }
    // In the public talk he reads, but must join to write.
    let read = results(&dave.get(&format!("/v1.0/talks/{public}/messages")).await?);
    assert_eq!(texts(&read), ["Welcome, everyone"]);
    assert_eq!(message(&dave, &welcome).await?["text"], "Welcome, everyone");
    for (method, path, body) in writes(&public, &welcome).into_iter().take(4) {
        let reply = dave.call(method.clone(), &path, body).await?;
        assert_eq!(
            reply.status.as_u16(),
            403,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["reason"], "PERMISSION_DENIED");
    }
    dave.post(&format!("/v1.0/talks/{public}/join"), json!({}), 200)
        .await?;
    say(&dave, &public, "Thanks!").await?;
    react(&dave, &welcome, "👋").await?;

    // Olga, admin of another customer: every talk and message of this one is a 404.
    let olga = cluster.other_customer("olga", "Olga").await?;
    for (talk, msg) in [(&private, &secret), (&public, &welcome)] {
        for (method, path, body) in tries(talk, msg).into_iter().chain(writes(talk, msg)) {
            let reply = olga.call(method.clone(), &path, body).await?;
            assert_eq!(
                reply.status.as_u16(),
                404,
                "{method} {path}: {}",
                reply.body
            );
            assert_eq!(reply.body["error"]["status"], "NOT_FOUND");
            let reason = reply.body["error"]["reason"].as_str().unwrap_or_default();
            assert!(
                reason == "TALK_NOT_FOUND" || reason == "MESSAGE_NOT_FOUND",
                "{reason}"
            );
        }
    }
    let join = olga
        .call(Method::POST, &format!("/v1.0/talks/{public}/join"), None)
        .await?;
    assert_error(&join, 404, "TALK_NOT_FOUND");

    // Nothing the outsiders tried changed anything.
    let private_now = listing(&alice, &private).await?;
    assert_eq!(texts(&private_now), ["the secret plan"]);
    assert_eq!(tally(&private_now[0]), counts(&[("👀", 1)]));
    assert!(
        results(
            &alice
                .get(&format!("/v1.0/messages/{secret}/history"))
                .await?
        )
        .is_empty()
    );
    let public_now = listing(&alice, &public).await?;
    let normal: Vec<&Value> = public_now
        .iter()
        .filter(|m| m["type"] == "normal")
        .collect();
    assert_eq!(
        normal.iter().map(|m| text(m)).collect::<Vec<_>>(),
        ["Thanks!", "Welcome, everyone"]
    );
    assert_eq!(tally(normal[1]), counts(&[("👋", 1)]));
    cluster.stop().await;
    Ok(())
}

/// `Idempotency-Key` on post: retries (one after another or at once) return
/// the first message and never make a second; reusing a key for another body
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_post_never_makes_two_messages() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "retries", &[&bob_id]).await?;
    let seed_path = format!("/v1.0/talks/{talk}/messages");
    let body = json!({"text": "sent over a flaky network"});

    let first = alice
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await?
        .expect(201)?;
    let retry = alice
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await?
        .expect(201)?;
    assert_eq!(retry, first, "the retry answers the first message");

    let voipbin_body =
        json!({"chat_id": talk, "type": "normal", "text": "sent through VoIPBIN's path"});
    let mut voipbin = Vec::new();
    for _ in 0..2 {
        voipbin.push(
            alice
                .send(
                    Method::POST,
                    "/v1.0/service_agents/talk_messages",
                    Some(voipbin_body.clone()),
                    &[("Idempotency-Key", "post-2")],
                )
                .await?
                .expect(200)?,
        );
    }
    assert_eq!(voipbin[0], voipbin[1]);

    // Five retries racing each other: still one message.
    let racing = join_all((0..5).map(|_| {
        alice.send(
            Method::POST,
            &seed_path,
            Some(json!({"text": "double-clicked"})),
            &[("Idempotency-Key", "post-3")],
        )
    }))
    .await;
    let mut ids = Vec::new();
    for reply in racing {
        ids.push(id(&reply?.expect(201)?));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every racer got the same message");

    // The same key with another body is refused; another agent's key is its own.
    let reused = alice
        .send(
            Method::POST,
            &seed_path,
            Some(json!({"text": "something else"})),
            &[("Idempotency-Key", "post-1")],
        )
        .await?;
    assert_eq!(reused.status.as_u16(), 422, "{}", reused.body);
    assert_eq!(reused.body["error"]["reason"], "IDEMPOTENCY_KEY_REUSED");
    let bobs = bob
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "post-1")],
        )
        .await?
        .expect(201)?;
    assert_ne!(bobs["id"], first["id"]);
    let bad_key = alice
        .send(
            Method::POST,
            &seed_path,
            Some(body.clone()),
            &[("Idempotency-Key", "has spaces in it")],
        )
        .await?;
    assert_error(&bad_key, 400, "INVALID_IDEMPOTENCY_KEY");

    let all = listing(&alice, &talk).await?;
    assert_eq!(
        texts(&all),
        [
            "sent over a flaky network",
            "double-clicked",
            "sent through VoIPBIN's path",
            "sent over a flaky network",
        ]
    );
    assert_eq!(seqs(&all), [4, 3, 2, 1], "no seq was spent on a retry");
    cluster.stop().await;
    Ok(())
}

/// Every malformed request gets a 4xx with VoIPBIN's error body and leaves
/// the talk exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_gets_a_4xx_and_changes_nothing() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (bob_id, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = group(&alice, "strict", &[&bob_id]).await?;
    let kept = id(&say(&alice, &talk, "keep me as I am").await?);
    react(&bob, &kept, "👍").await?;
    let before = listing(&alice, &talk).await?;

    let messages = format!("/v1.0/talks/{talk}/messages");
    let chat = "/v1.0/service_agents/talk_messages".to_owned();
    let one = format!("/v1.0/messages/{kept}");
    let reactions = format!("/v1.0/messages/{kept}/reactions");
    let read = format!("/v1.0/talks/{talk}/read");
    let json_cases: Vec<(Method, String, Value, u16, &str)> = vec![
        // Bad UUIDs.
        (
            Method::POST,
            "/v1.0/talks/talk-1/messages".into(),
            json!({"text": "x"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::PUT,
            "/v1.0/messages/42".into(),
            json!({"text": "x"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            "/v1.0/messages/msg/reactions".into(),
            json!({"emoji": "👍"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            "/v1.0/service_agents/talk_messages/x/reactions".into(),
            json!({"emoji": "👍"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            "/v1.0/talks/not-a-talk/read".into(),
            json!({"seq": 1}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": "chat-1", "type": "normal", "text": "x"}),
            400,
            "INVALID_ID",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "parent_id": "p"}),
            400,
            "INVALID_ID",
        ),
        // Wrong JSON types.
        (
            Method::POST,
            messages.clone(),
            json!({"text": 7}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "medias": "pic.png"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "medias": [{"type": 1}]}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "x", "parent_id": 5}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!(["text", "x"]),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            messages.clone(),
            json!(["hello"]),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": 12, "text": "x"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::PUT,
            one.clone(),
            json!({"text": false}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            reactions.clone(),
            json!({"emoji": 1}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            read.clone(),
            json!({"seq": "1"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            read.clone(),
            json!({"seq": -1}),
            400,
            "INVALID_JSON_BODY",
        ),
        // Missing fields.
        (
            Method::POST,
            messages.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"type": "normal", "text": "x"}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::PUT,
            one.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            reactions.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::DELETE,
            format!("{chat}/{kept}/reactions"),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        (
            Method::POST,
            read.clone(),
            json!({}),
            400,
            "INVALID_JSON_BODY",
        ),
        // Rule violations.
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": talk, "type": "system", "text": "x"}),
            400,
            "SYSTEM_MESSAGE_FORBIDDEN",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": talk, "type": "shout", "text": "x"}),
            400,
            "INVALID_TYPE",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": ""}),
            400,
            "EMPTY_MESSAGE",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "nul \u{0} inside"}),
            400,
            "INVALID_TEXT",
        ),
        (
            Method::POST,
            chat.clone(),
            json!({"chat_id": uuid::Uuid::new_v4(), "type": "normal", "text": "x"}),
            404,
            "TALK_NOT_FOUND",
        ),
    ];
    for (method, path, body, status, reason) in json_cases {
        let reply = alice
            .call(method.clone(), &path, Some(body.clone()))
            .await?;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path} {body}: {}",
            reply.body
        );
        assert_error(&reply, status, reason);
    }
    for (method, path) in [
        (Method::POST, messages.clone()),
        (Method::POST, chat.clone()),
        (Method::PUT, one.clone()),
        (Method::POST, reactions.clone()),
        (Method::POST, read.clone()),
    ] {
        for raw in ["{\"text\": ", "", "not json"] {
            let reply = alice.raw(method.clone(), &path, raw).await?;
            assert_error(&reply, 400, "INVALID_JSON_BODY");
        }
    }
    for path in [
        "/v1.0/messages/not-a-uuid".to_owned(),
        "/v1.0/messages/1/thread".to_owned(),
        "/v1.0/messages/1/history".to_owned(),
        "/v1.0/service_agents/talk_messages/zzz".to_owned(),
        "/v1.0/talks/zzz/messages".to_owned(),
    ] {
        let reply = alice.call(Method::GET, &path, None).await?;
        assert_error(&reply, 400, "INVALID_ID");
    }
    let bad_delete = alice
        .call(
            Method::DELETE,
            "/v1.0/messages/xyz/reactions/%F0%9F%91%8D",
            None,
        )
        .await?;
    assert_error(&bad_delete, 400, "INVALID_ID");

    // Text over 20,000 characters: 400 that says the limit.
    let long = alice
        .call(
            Method::POST,
            &messages,
            Some(json!({"text": "é".repeat(20_001)})),
        )
        .await?;
    assert_error(&long, 400, "TEXT_TOO_LONG");
    assert!(
        long.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("20,000")),
        "{}",
        long.body
    );
    let long_voipbin = alice
        .call(
            Method::POST,
            &chat,
            Some(json!({"chat_id": talk, "type": "normal", "text": "a".repeat(20_001)})),
        )
        .await?;
    assert_error(&long_voipbin, 400, "TEXT_TOO_LONG");
    // A body over 1 MiB: 413.
    let huge = format!("{{\"text\": \"{}\"}}", "a".repeat(1024 * 1024 + 16));
    let too_large = alice.raw(Method::POST, &messages, &huge).await?;
    assert_error(&too_large, 413, "PAYLOAD_TOO_LARGE");

    let after = listing(&alice, &talk).await?;
    assert_eq!(after, before, "the talk is exactly as it was");
    assert!(results(&alice.get(&format!("/v1.0/messages/{kept}/history")).await?).is_empty());
    assert_eq!(unread(&bob, &talk).await?, 1);

    // The limit itself is allowed (in characters, not bytes).
    let longest = alice
        .post(&messages, json!({"text": "é".repeat(20_000)}), 201)
        .await?;
    assert_eq!(text(&longest).chars().count(), 20_000);
    cluster.stop().await;
    Ok(())
}
