//! Archiving inactive talks over gRPC, on PostgreSQL and SQLite: the
//! customer's setting (admins only, 1 to 3650 days), the sweep at a clock the
//! test chooses (group and public talks, never direct ones; activity from the
//! `message_created` events on the bus; once; a reopen restarts the clock),
//! the `talk_closed` it publishes (`close_reason` inactivity), and the
//! listing by state.

use std::collections::BTreeSet;

use talk_events::kinds::{MessageCreated, envelope, subject};
use talk_events::{EventKind, Payload};
use talk_proto::{
    ArchiveInactiveRequest, Caller, GetTalkSettingsRequest, ListTalksByStatusRequest, Message,
    TalkSettings, UpdateTalkSettingsRequest,
};
use talk_types::{CustomerId, ErrorKind, TalkId};

use crate::support::{Env, Setup, err, next_events, write};

const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;

async fn settings(env: &Env, by: &Caller) -> TalkSettings {
    env.archive
        .clone()
        .get_talk_settings(talk_runtime::grpc::acting(
            by.clone(),
            GetTalkSettingsRequest {},
        ))
        .await
        .expect("settings")
        .into_inner()
}

async fn set_days(
    env: &Env,
    by: &Caller,
    days: Option<i64>,
) -> Result<TalkSettings, talk_types::ApiError> {
    env.archive
        .clone()
        .update_talk_settings(talk_runtime::grpc::acting(
            by.clone(),
            UpdateTalkSettingsRequest {
                archive_inactive_days: days,
            },
        ))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| talk_types::ApiError::from_status(&s))
}

/// The sweep at `now` (microseconds), as the service's own task runs it.
async fn sweep(env: &Env, now: i64) -> BTreeSet<String> {
    env.archive
        .clone()
        .archive_inactive(talk_runtime::grpc::request(ArchiveInactiveRequest {
            now_micros: now,
        }))
        .await
        .expect("sweep")
        .into_inner()
        .talk_ids
        .into_iter()
        .collect()
}

/// The caller's talks in `status`.
async fn listed(env: &Env, by: &Caller, status: &str) -> Result<BTreeSet<String>, tonic::Status> {
    let page = env
        .archive
        .clone()
        .list_talks_by_status(talk_runtime::grpc::acting(
            by.clone(),
            ListTalksByStatusRequest {
                page: None,
                status: status.into(),
            },
        ))
        .await?
        .into_inner();
    Ok(page.talks.into_iter().map(|t| t.id).collect())
}

/// Publishes the `message_created` of a message in `talk` at `at`, as
/// message-service does.
async fn message_at(env: &Env, talk: &talk_proto::Talk, at: i64) {
    let customer: CustomerId = talk.customer_id.parse().expect("customer");
    let id: TalkId = talk.id.parse().expect("talk");
    let event = envelope(
        MessageCreated(Message {
            id: uuid::Uuid::now_v7().to_string(),
            customer_id: talk.customer_id.clone(),
            chat_id: talk.id.clone(),
            r#type: "normal".into(),
            text: "still here".into(),
            tm_create: at,
            ..Message::default()
        }),
        customer,
        id,
        String::new(),
    );
    env.bus
        .publish(
            &subject(&env.prefix, &event),
            &event.id,
            "",
            talk_events::kinds::encode(&event).into(),
        )
        .await
        .expect("publish");
}

async fn archives_what_went_quiet(env: Env) {
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;

    // Off by default; admins set 1 to 3650 days.
    let default = settings(&env, &a).await;
    assert_eq!(default.archive_inactive_days, None);
    assert_eq!(default.tm_update, 0);
    assert_eq!(
        err(set_days(&env, &a, Some(2)).await).kind,
        ErrorKind::PermissionDenied
    );
    for bad in [0, -5, 3651, i64::MAX] {
        let refused = err(set_days(&env, &env.admin, Some(bad)).await);
        assert_eq!(refused.kind, ErrorKind::InvalidArgument, "{bad}");
    }
    assert_eq!(settings(&env, &a).await, default, "nothing changed");

    let group = env.talk(&a, "group", &[&b]).await;
    let channel = env.talk(&a, "talk", &[]).await;
    let direct = env.talk(&a, "direct", &[&b]).await;
    let busy = env.talk(&a, "group", &[&b]).await;
    let far = busy.tm_create + 3650 * DAY;
    assert!(sweep(&env, far).await.is_empty(), "off: nothing closes");

    let on = set_days(&env, &env.admin, Some(2)).await.expect("set");
    assert_eq!(on.archive_inactive_days, Some(2));
    assert!(on.tm_update > 0);
    assert_eq!(settings(&env, &b).await, on, "every agent reads it");

    // busy had a message two days after its creation; an hour later the
    // others have been idle for over two days.
    message_at(&env, &busy, busy.tm_create + 2 * DAY).await;
    let now = busy.tm_create + 2 * DAY + HOUR;
    let mut events = env.events().await;
    let closed = sweep(&env, now).await;
    assert_eq!(
        closed,
        BTreeSet::from([group.id.clone(), channel.id.clone()])
    );
    for (kind, payload) in next_events(&mut events, 2).await {
        assert_eq!(kind, EventKind::TalkClosed);
        let Payload::Talk(talk) = payload else {
            panic!("a talk payload");
        };
        assert!(closed.contains(&talk.id));
        assert_eq!(
            (talk.state.as_str(), talk.close_reason.as_str()),
            ("closed", "inactivity")
        );
    }
    assert_eq!(
        env.get(&a, &direct.id).await.expect("direct").state,
        "active"
    );
    assert!(sweep(&env, now).await.is_empty(), "once");

    // By state: open by default for the seed listing, closed, all; 400 else.
    let open = BTreeSet::from([direct.id.clone(), busy.id.clone()]);
    assert_eq!(listed(&env, &a, "open").await.expect("open"), open);
    assert_eq!(listed(&env, &a, "active").await.expect("active"), open);
    let archived = BTreeSet::from([group.id.clone(), channel.id.clone()]);
    assert_eq!(listed(&env, &a, "closed").await.expect("closed"), archived);
    assert_eq!(listed(&env, &a, "all").await.expect("all").len(), 4);
    assert_eq!(listed(&env, &a, "").await.expect("all").len(), 4);
    let bogus = listed(&env, &a, "archived").await.expect_err("bogus");
    assert_eq!(bogus.code(), tonic::Code::InvalidArgument);

    // A reopen restarts the clock: two days after a moment between the
    // group's creation and its reopen it stays open (idle since its creation,
    // it would not), two days after the reopen it is archived again.
    let reopened = env
        .talks
        .clone()
        .reopen_talk(write(&a, &group.id))
        .await
        .expect("reopen")
        .into_inner();
    assert_eq!(reopened.close_reason, "");
    let between = group.tm_create + (reopened.tm_update - group.tm_create) / 2;
    assert!(group.tm_create < between && between < reopened.tm_update);
    assert!(sweep(&env, between + 2 * DAY).await.is_empty());
    assert_eq!(
        sweep(&env, reopened.tm_update + 2 * DAY + 1).await,
        BTreeSet::from([group.id.clone()])
    );
    // A manual close says so.
    let manual = env
        .talks
        .clone()
        .close_talk(write(&a, &direct.id))
        .await
        .expect("close")
        .into_inner();
    assert_eq!(manual.close_reason, "manual");

    // Off again: nothing more closes.
    env.talks
        .clone()
        .reopen_talk(write(&a, &group.id))
        .await
        .expect("reopen");
    let off = set_days(&env, &env.admin, None).await.expect("off");
    assert_eq!(off.archive_inactive_days, None);
    assert!(sweep(&env, far).await.is_empty());
    env.stop().await;
}

#[tokio::test]
async fn archives_what_went_quiet_on_postgres() {
    archives_what_went_quiet(Env::start().await).await;
}

#[tokio::test]
async fn archives_what_went_quiet_on_sqlite() {
    archives_what_went_quiet(
        Env::start_with(Setup {
            sqlite: true,
            nats: false,
        })
        .await,
    )
    .await;
}
