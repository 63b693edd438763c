//! VoIPBIN pagination over 250 talks: newest first, no duplicates, no gaps.

use std::collections::HashSet;

use talk_proto::{ListTalksRequest, PageRequest, TalkPage};
use talk_types::{ApiError, ErrorKind, time};

use crate::support::{Env, err};

#[tokio::test]
async fn pages_cover_250_talks_exactly_once() {
    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let b = env.agent(&env.admin).await;
    let mut created = Vec::new();
    for i in 0..250 {
        let (kind, with) = if i % 2 == 0 {
            ("talk", vec![])
        } else {
            ("group", vec![&b])
        };
        created.push(env.talk(&a, kind, &with).await.id);
    }
    let client = env.talks.clone();
    let page = |size: u32, token: String, channels: bool| {
        let request = talk_runtime::grpc::acting(
            a.clone(),
            ListTalksRequest {
                page: Some(PageRequest {
                    page_size: size,
                    page_token: token,
                }),
            },
        );
        let mut client = client.clone();
        async move {
            let result = if channels {
                client.list_channels(request).await
            } else {
                client.list_talks(request).await
            };
            result
                .map(tonic::Response::into_inner)
                .map_err(|s| ApiError::from_status(&s))
        }
    };

    // Default and capped sizes are 100.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut sizes = Vec::new();
    loop {
        let TalkPage {
            talks,
            next_page_token,
        } = page(1000, token.clone(), false).await.expect("page");
        if talks.is_empty() {
            assert_eq!(next_page_token, "");
            break;
        }
        sizes.push(talks.len());
        let last = talks.last().expect("last").tm_create;
        assert_eq!(
            next_page_token,
            time::format(&time::from_micros(last).expect("ts"))
        );
        seen.extend(talks.into_iter().map(|t| t.id));
        token = next_page_token;
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    let expected: Vec<_> = created.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "newest first, each once");

    // Small pages of public channels.
    let mut channels = Vec::new();
    let mut token = String::new();
    loop {
        let result = page(7, token.clone(), true).await.expect("channels");
        if result.talks.is_empty() {
            break;
        }
        assert!(result.talks.len() <= 7);
        channels.extend(result.talks.into_iter().map(|t| t.id));
        token = result.next_page_token;
    }
    assert_eq!(channels.len(), 125);
    assert_eq!(channels.iter().collect::<HashSet<_>>().len(), 125);

    // Stable under concurrent inserts: a talk created after page one does not shift later pages.
    let first = page(0, String::new(), false).await.expect("first");
    assert_eq!(first.talks.len(), 100);
    env.talk(&a, "group", &[]).await;
    let second = page(0, first.next_page_token.clone(), false)
        .await
        .expect("second");
    assert_eq!(second.talks[0].id, expected[100]);

    let e = err(page(10, "yesterday".into(), false).await);
    assert_eq!(
        (e.kind, e.reason.as_ref()),
        (ErrorKind::InvalidArgument, "INVALID_REQUEST_PARAMETER")
    );
    env.stop().await;
}

#[tokio::test]
async fn talks_created_in_the_same_microsecond_are_neither_lost_nor_repeated() {
    use sea_orm::ConnectionTrait;

    let env = Env::start().await;
    let a = env.agent(&env.admin).await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(env.talk(&a, "talk", &[]).await.id);
    }
    // Five of them share one tm_create, as concurrent creates may.
    let db = env.talk_db().await;
    let same: Vec<String> = ids[1..6].iter().map(|id| format!("'{id}'")).collect();
    db.execute_unprepared(&format!(
        "UPDATE talks SET tm_create = '2030-01-01T00:00:00.000001Z' WHERE id IN ({})",
        same.join(",")
    ))
    .await
    .expect("update");
    db.close().await.ok();

    for size in [1, 2, 3, 4, 5, 6] {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = env
                .talks
                .clone()
                .list_channels(talk_runtime::grpc::acting(
                    a.clone(),
                    ListTalksRequest {
                        page: Some(PageRequest {
                            page_size: size,
                            page_token: token,
                        }),
                    },
                ))
                .await
                .expect("page")
                .into_inner();
            if page.talks.is_empty() {
                break;
            }
            seen.extend(page.talks.into_iter().map(|t| t.id));
            token = page.next_page_token;
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            (seen.len(), unique.len()),
            (7, 7),
            "page size {size}: {seen:?}"
        );
    }
    env.stop().await;
}
