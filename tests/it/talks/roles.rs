//! Roles inside a talk, cell by cell through REST (the table of
//! `docs/DOMAIN.md`, "Roles"): owner, moderator, plain member, another agent
//! of the customer, a customer admin and another customer, for rename, close,
//! reopen, delete, add, remove-other and set-role on each talk type. Every
//! refused call changes nothing; an abandoned public talk is revived by the
//! next agent who joins it.

use reqwest::Method;
use serde_json::{Value, json};
use talk_e2e::Api;
use talk_e2e::client::assert_error;

use super::{TALKS, id_of, members, start};

/// Who acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Owner,
    Moderator,
    Member,
    Outsider,
    Admin,
    OtherCustomer,
}

/// What they try.
#[derive(Clone, Copy, Debug)]
enum Act {
    Rename,
    Close,
    Reopen,
    Delete,
    Add,
    RemoveOther,
    SetRole,
}

/// The expected answer: a status and, for a refusal, its reason.
type Want = (u16, &'static str);
const OK: Want = (200, "");
const ADDED: Want = (201, "");
const DENIED: Want = (403, "PERMISSION_DENIED");
const HIDDEN: Want = (404, "TALK_NOT_FOUND");
const FIXED: Want = (409, "DIRECT_TALK_FIXED");
const OWNER_STAYS: Want = (400, "INVALID_ROLE");

/// The table for a group or a public talk.
fn shared(act: Act, who: Who) -> Want {
    use Who::*;
    match (act, who) {
        (_, OtherCustomer) => HIDDEN,
        (_, Outsider) => DENIED,
        (Act::Add, _) => ADDED,
        (Act::SetRole, Owner | Admin) => OK,
        (Act::SetRole, _) => DENIED,
        (_, Owner | Moderator | Admin) => OK,
        (_, Member) => DENIED,
    }
}

/// The table for a direct talk (its two agents are owners; no moderators or members).
fn direct(act: Act, who: Who) -> Want {
    use Who::*;
    match (act, who) {
        (_, OtherCustomer) => HIDDEN,
        (_, Outsider) => DENIED,
        (Act::Add | Act::RemoveOther, _) => FIXED,
        (Act::SetRole, _) => OWNER_STAYS,
        _ => OK,
    }
}

struct People {
    owner: (String, Api),
    moderator: (String, Api),
    member: (String, Api),
    target: (String, Api),
    outsider: (String, Api),
    admin: Api,
    other: Api,
}

impl People {
    fn api(&self, who: Who) -> &Api {
        match who {
            Who::Owner => &self.owner.1,
            Who::Moderator => &self.moderator.1,
            Who::Member => &self.member.1,
            Who::Outsider => &self.outsider.1,
            Who::Admin => &self.admin,
            Who::OtherCustomer => &self.other,
        }
    }
}

/// A fresh talk of `kind` as the table needs it: owner, moderator, member and
/// a member to remove (direct: the owner and the target); answers its id and
/// the id of the target's participant record.
async fn setup(p: &People, kind: &str) -> anyhow::Result<(String, String)> {
    let mut agents = vec![&p.target.0];
    if kind != "direct" {
        agents.extend([&p.moderator.0, &p.member.0]);
    }
    let participants: Vec<Value> = agents
        .iter()
        .map(|id| json!({"owner_type": "agent", "owner_id": id}))
        .collect();
    let talk = p
        .owner
        .1
        .post(
            TALKS,
            json!({"type": kind, "name": "roles", "participants": participants}),
            201,
        )
        .await?;
    let t = id_of(&talk);
    let list = p.owner.1.get(&format!("{TALKS}/{t}/participants")).await?;
    let record = |agent: &str| {
        list.as_array()
            .into_iter()
            .flatten()
            .find(|r| r["owner_id"] == agent)
            .map(id_of)
            .unwrap_or_default()
    };
    for (agent, role) in [(&p.owner.0, "owner"), (&p.target.0, "")] {
        let record = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["owner_id"] == agent.as_str())
            .cloned()
            .unwrap_or_default();
        let want = if role.is_empty() {
            if kind == "direct" { "owner" } else { "member" }
        } else {
            role
        };
        assert_eq!(record["role"], want, "{kind}: {record}");
    }
    if kind != "direct" {
        let moderator = record(&p.moderator.0);
        let made = p
            .owner
            .1
            .call(
                Method::PUT,
                &format!("{TALKS}/{t}/participants/{moderator}"),
                Some(json!({"role": "moderator"})),
            )
            .await?
            .expect(200)?;
        assert_eq!(made["role"], "moderator");
    }
    Ok((t, record(&p.target.0)))
}

/// The talk as its owner sees it (an admin who is not in a private talk may
/// change it but not read it), without the counts that system messages move
/// on their own.
async fn state(p: &People, talk: &str) -> anyhow::Result<Value> {
    let mut talk = p.owner.1.get(&format!("{TALKS}/{talk}")).await?;
    if let Some(fields) = talk.as_object_mut() {
        fields.remove("last_seq");
        fields.remove("unread_count");
    }
    Ok(talk)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_role_table_holds_cell_by_cell() -> anyhow::Result<()> {
    let (cluster, admin) = start().await?;
    let p = People {
        owner: admin.create_agent("olive", "Olive").await?,
        moderator: admin.create_agent("mona", "Mona").await?,
        member: admin.create_agent("mel", "Mel").await?,
        target: admin.create_agent("tess", "Tess").await?,
        outsider: admin.create_agent("otto", "Otto").await?,
        other: cluster.other_customer("zora", "Zora").await?,
        admin,
    };
    let (newcomer, _) = p.admin.create_agent("nico", "Nico").await?;
    let acts = [
        Act::Rename,
        Act::Close,
        Act::Reopen,
        Act::Delete,
        Act::Add,
        Act::RemoveOther,
        Act::SetRole,
    ];
    let everyone = [
        Who::Owner,
        Who::Moderator,
        Who::Member,
        Who::Outsider,
        Who::Admin,
        Who::OtherCustomer,
    ];
    for kind in ["group", "talk", "direct"] {
        let table = if kind == "direct" { direct } else { shared };
        for act in acts {
            for who in everyone {
                if kind == "direct" && matches!(who, Who::Moderator | Who::Member) {
                    continue;
                }
                let (t, target) = setup(&p, kind).await?;
                if matches!(act, Act::Reopen) {
                    p.owner
                        .1
                        .post(&format!("{TALKS}/{t}/close"), json!(null), 200)
                        .await?;
                }
                let before = state(&p, &t).await?;
                let (method, path, body) = match act {
                    Act::Rename => (Method::PUT, format!("{TALKS}/{t}"), json!({"name": "new"})),
                    Act::Close => (Method::POST, format!("{TALKS}/{t}/close"), json!(null)),
                    Act::Reopen => (Method::POST, format!("{TALKS}/{t}/reopen"), json!(null)),
                    Act::Delete => (Method::DELETE, format!("{TALKS}/{t}"), json!(null)),
                    Act::Add => (
                        Method::POST,
                        format!("{TALKS}/{t}/participants"),
                        json!({"agent_id": newcomer}),
                    ),
                    Act::RemoveOther => (
                        Method::DELETE,
                        format!("{TALKS}/{t}/participants/{target}"),
                        json!(null),
                    ),
                    Act::SetRole => (
                        Method::PUT,
                        format!("{TALKS}/{t}/participants/{target}"),
                        json!({"role": "moderator"}),
                    ),
                };
                let body = (!body.is_null()).then_some(body);
                let reply = p.api(who).call(method, &path, body).await?;
                let (status, reason) = table(act, who);
                let cell = format!("{kind} {act:?} by {who:?}: {} {}", reply.status, reply.body);
                if reason.is_empty() {
                    assert_eq!(reply.status, status, "{cell}");
                } else {
                    assert_error(&reply, status, reason);
                    // A refusal changes nothing.
                    assert_eq!(state(&p, &t).await?, before, "{cell}");
                    let list = p.owner.1.get(&format!("{TALKS}/{t}/participants")).await?;
                    assert_eq!(
                        list.as_array().map(Vec::len),
                        Some(members(&before) as usize),
                        "{cell}"
                    );
                }
                if kind == "direct" {
                    // Frees the pair for the next cell (404 when the cell deleted it).
                    p.admin
                        .call(Method::DELETE, &format!("{TALKS}/{t}"), None)
                        .await?;
                }
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_public_talk_is_revived_by_the_next_joiner() -> anyhow::Result<()> {
    let (_cluster, admin) = start().await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let (_, bob) = admin.create_agent("bob", "Bob").await?;
    let talk = alice
        .post(TALKS, json!({"type": "talk", "name": "lobby"}), 201)
        .await?;
    let t = id_of(&talk);
    alice
        .post(&format!("{TALKS}/{t}/leave"), json!(null), 200)
        .await?;
    let left = bob.get(&format!("{TALKS}/{t}")).await?;
    assert_eq!(left["state"], "closed");
    assert_eq!(members(&left), 0);

    let joined = bob
        .post(&format!("{TALKS}/{t}/join"), json!(null), 200)
        .await?;
    assert_eq!(joined["role"], "owner", "{joined}");
    let revived = bob.get(&format!("{TALKS}/{t}")).await?;
    assert_eq!(revived["state"], "active");
    assert_eq!(members(&revived), 1);
    // The new owner manages it; the old one, back as a member, does not.
    bob.call(
        Method::PUT,
        &format!("{TALKS}/{t}"),
        Some(json!({"name": "hall"})),
    )
    .await?
    .expect(200)?;
    let back = alice
        .post(&format!("{TALKS}/{t}/join"), json!(null), 200)
        .await?;
    assert_eq!(back["role"], "member");
    let rename = alice
        .call(
            Method::PUT,
            &format!("{TALKS}/{t}"),
            Some(json!({"name": "mine"})),
        )
        .await?;
    assert_error(&rename, 403, "PERMISSION_DENIED");
    Ok(())
}
