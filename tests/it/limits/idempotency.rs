//! Idempotency records expire after their 24-hour window.

use std::time::Duration;

use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use talk_config::Store;
use talk_e2e::{Api, Cluster};

use super::{TALKS, id, my_talks, start};

/// A store's database, to read and backdate its idempotency records.
struct Records {
    db: DatabaseConnection,
    schema: &'static str,
}

impl Records {
    async fn of(cluster: &Cluster, store: Store) -> anyhow::Result<Self> {
        let db = Database::connect(cluster.config.database_url_for(store)).await?;
        Ok(Self {
            db,
            schema: store.name(),
        })
    }

    /// Makes the record of `key` 25 hours old: past the window.
    async fn backdate(&self, key: &str) -> anyhow::Result<()> {
        let done = self
            .db
            .execute_unprepared(&format!(
                "UPDATE \"{}\".idempotency SET created_at = created_at - interval '25 hours' \
                 WHERE \"key\" = '{key}'",
                self.schema
            ))
            .await?;
        anyhow::ensure!(done.rows_affected() == 1, "no record of {key}");
        Ok(())
    }

    async fn count(&self, key: &str) -> anyhow::Result<i64> {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!(
                    "SELECT count(*) AS n FROM \"{}\".idempotency WHERE \"key\" = '{key}'",
                    self.schema
                ),
            ))
            .await?;
        Ok(row.map_or(Ok(0), |r| r.try_get::<i64>("", "n"))?)
    }

    /// Polls until the service's background purge deleted the record of `key`.
    async fn purged(&self, key: &str) -> anyhow::Result<()> {
        for _ in 0..200 {
            if self.count(key).await? == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the record of {key} was not purged")
    }
}

async fn send(api: &Api, path: &str, body: Value, key: &str, status: u16) -> anyhow::Result<Value> {
    api.send(Method::POST, path, Some(body), &[("Idempotency-Key", key)])
        .await?
        .expect(status)
}

/// A retry within the window replays the first answer; a record past the
/// window is purged by its service's background purge (talk-service and
/// message-service each purge their own), and a retry with its key then
/// runs anew — a second talk, a second message — whose own retries replay
/// the new answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_records_are_purged_and_a_retry_runs_anew() -> anyhow::Result<()> {
    let (cluster, admin) = start(|config| config.idempotency_purge_secs = 1).await?;
    let (_, alice) = admin.create_agent("alice", "Alice").await?;
    let create = json!({"type": "group", "name": "expiring"});
    let first_talk = send(&alice, TALKS, create.clone(), "talk-key", 201).await?;
    let retry = send(&alice, TALKS, create.clone(), "talk-key", 201).await?;
    assert_eq!(retry, first_talk, "a retry within the window replays");
    let talk = id(&first_talk);
    let messages = format!("{TALKS}/{talk}/messages");
    let say = json!({"text": "once, twice?"});
    let first_post = send(&alice, &messages, say.clone(), "post-key", 201).await?;
    assert_eq!(
        send(&alice, &messages, say.clone(), "post-key", 201).await?,
        first_post
    );

    let talks = Records::of(&cluster, Store::Talk).await?;
    let posts = Records::of(&cluster, Store::Message).await?;
    talks.backdate("talk-key").await?;
    posts.backdate("post-key").await?;
    talks.purged("talk-key").await?;
    posts.purged("post-key").await?;

    let second_talk = send(&alice, TALKS, create.clone(), "talk-key", 201).await?;
    assert_ne!(id(&second_talk), talk, "a new talk");
    assert_eq!(
        send(&alice, TALKS, create, "talk-key", 201).await?,
        second_talk
    );
    assert_eq!(
        my_talks(&alice).await?,
        [talk.clone(), id(&second_talk)].into()
    );
    let second_post = send(&alice, &messages, say.clone(), "post-key", 201).await?;
    assert_ne!(id(&second_post), id(&first_post), "a new message");
    assert_eq!(second_post["seq"], 2);
    assert_eq!(
        send(&alice, &messages, say, "post-key", 201).await?,
        second_post
    );
    assert_eq!(
        (
            talks.count("talk-key").await?,
            posts.count("post-key").await?
        ),
        (1, 1)
    );
    cluster.stop().await;
    Ok(())
}
