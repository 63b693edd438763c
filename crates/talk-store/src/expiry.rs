//! Idempotency records expire: a record answers retries of its key for
//! [`WINDOW`] (24 hours, like Stripe); after that the key names a new
//! request ([`crate::idempotency`] treats an expired record as absent and a
//! new claim takes its place), and [`Purge`] deletes it in the background.
//!
//! The purge deletes at most [`BATCH`] rows per statement, found through the
//! index on `created_at` ([`crate::migration::IndexIdempotencyCreated`]), so
//! no statement scans the table or holds many row locks, and a backlog (the
//! first purge after an upgrade) is worked off statement by statement.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement};
use talk_types::time::{self, Timestamp};
use tokio_util::sync::CancellationToken;

/// How long a record answers retries of its key.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The most records one purge statement deletes.
pub const BATCH: u64 = 1_000;

/// Records created before this have expired.
pub fn cutoff() -> Timestamp {
    time::now() - WINDOW
}

/// Whether a record created at `created_at` has expired.
pub fn expired(created_at: &Timestamp) -> bool {
    *created_at < cutoff()
}

/// Deletes a service's expired idempotency records, now and then.
#[derive(Clone)]
pub struct Purge {
    db: DatabaseConnection,
    service: &'static str,
    every: Duration,
}

impl std::fmt::Debug for Purge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Purge")
            .field("service", &self.service)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl Purge {
    /// Purges `service`'s records in `db` every `every` (at least a second).
    pub fn new(db: DatabaseConnection, service: &'static str, every: Duration) -> Self {
        Self {
            db,
            service,
            every: every.max(Duration::from_secs(1)),
        }
    }

    /// Purges at once, then every `every`, until `shutdown`. A failed purge
    /// only warns: the next one deletes what it left.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                purged = self.purge() => match purged {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(service = self.service, records = n, "idempotency records purged"),
                    Err(e) => tracing::warn!(service = self.service, error = %e, "idempotency purge failed"),
                },
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }

    /// Deletes every record expired now, [`BATCH`] per statement (each its
    /// own short transaction); answers how many.
    pub async fn purge(&self) -> Result<u64, DbErr> {
        let before = cutoff();
        let mut total = 0;
        loop {
            let n = self.purge_batch(before).await?;
            total += n;
            if n < BATCH {
                return Ok(total);
            }
        }
    }

    /// Deletes up to [`BATCH`] records created before `before`, found in the
    /// `created_at` index and deleted by their physical row id (`ctid` on
    /// PostgreSQL, a TID scan; `rowid` on SQLite): a join on the primary key
    /// would let PostgreSQL's planner hash the whole table.
    async fn purge_batch(&self, before: Timestamp) -> Result<u64, DbErr> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => format!(
                "DELETE FROM idempotency WHERE ctid = ANY(ARRAY( \
                   SELECT ctid FROM idempotency WHERE created_at < $1 LIMIT {BATCH}))"
            ),
            _ => format!(
                "DELETE FROM idempotency WHERE rowid IN ( \
                   SELECT rowid FROM idempotency WHERE created_at < ?1 LIMIT {BATCH})"
            ),
        };
        let deleted = self
            .db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [before.into()],
            ))
            .await?;
        Ok(deleted.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{
        ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait,
    };
    use sea_orm_migration::{MigrationTrait, SchemaManager};
    use talk_proto::WriteOptions;
    use talk_types::time::{self, Timestamp};

    use super::{BATCH, Purge, WINDOW};
    use crate::idempotency::{self, Claim, Key, entity};
    use crate::migration::{CreateIdempotency, IndexIdempotencyCreated};

    async fn migrated(url: &str, schema: &str) -> DatabaseConnection {
        let db = crate::connect(url, schema, 2).await.unwrap();
        let manager = SchemaManager::new(&db);
        CreateIdempotency.up(&manager).await.unwrap();
        IndexIdempotencyCreated.up(&manager).await.unwrap();
        db
    }

    fn key(n: usize) -> Key {
        Key {
            scope: format!("agent:PostMessage:{}", n % 7),
            key: format!("key-{n}"),
            request_hash: format!("hash-{n}"),
        }
    }

    /// Records keys `range` created at `at`, as a committed write leaves them.
    async fn seed(db: &DatabaseConnection, range: std::ops::Range<usize>, at: Timestamp) {
        for chunk in range.collect::<Vec<_>>().chunks(500) {
            let rows = chunk.iter().map(|&n| {
                let key = key(n);
                entity::ActiveModel {
                    scope: Set(key.scope),
                    key: Set(key.key),
                    request_hash: Set(key.request_hash),
                    response: Set(Some(prost::Message::encode_to_vec(&answer(n)))),
                    created_at: Set(at),
                }
            });
            entity::Entity::insert_many(rows)
                .exec_without_returning(db)
                .await
                .unwrap();
        }
    }

    /// Some answer a record holds: a message type of talk-proto.
    fn answer(n: usize) -> WriteOptions {
        WriteOptions {
            idempotency_key: format!("answer-{n}"),
            ..Default::default()
        }
    }

    async fn count(db: &DatabaseConnection) -> u64 {
        entity::Entity::find().count(db).await.unwrap()
    }

    /// Records older than the window are purged in statements of at most
    /// [`BATCH`], the others kept; an expired key is a new request again: a
    /// lookup finds nothing and a claim takes the record over, while a live
    /// key still replays.
    async fn expired_records_are_purged_and_claimed_anew(db: DatabaseConnection) {
        let long_ago = time::now() - WINDOW - std::time::Duration::from_secs(60);
        let expired = 2 * BATCH as usize + 17;
        seed(&db, 0..expired, long_ago).await;
        seed(&db, expired..expired + 5, time::now()).await;

        let old = key(3);
        assert_eq!(
            idempotency::lookup::<WriteOptions, _>(&db, &old)
                .await
                .unwrap(),
            None,
            "an expired record answers nothing"
        );
        let live = key(expired + 1);
        assert_eq!(
            idempotency::lookup::<WriteOptions, _>(&db, &live)
                .await
                .unwrap(),
            Some(answer(expired + 1))
        );
        let txn = db.begin().await.unwrap();
        let anew = Key {
            request_hash: "another request".into(),
            ..old.clone()
        };
        let claim = idempotency::claim::<WriteOptions>(&txn, &anew)
            .await
            .unwrap();
        assert!(matches!(claim, Claim::Fresh), "{claim:?}");
        idempotency::complete(&txn, &anew, &answer(99_999))
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(
            idempotency::lookup::<WriteOptions, _>(&db, &anew)
                .await
                .unwrap(),
            Some(answer(99_999)),
            "the new request's record answers its retries"
        );
        let txn = db.begin().await.unwrap();
        let claim = idempotency::claim::<WriteOptions>(&txn, &live)
            .await
            .unwrap();
        assert!(
            matches!(claim, Claim::Replay(ref a) if *a == answer(expired + 1)),
            "{claim:?}"
        );
        drop(txn);

        let purge = Purge::new(db.clone(), "test", std::time::Duration::from_secs(60));
        let one = purge.purge_batch(super::cutoff()).await.unwrap();
        assert_eq!(one, BATCH, "one statement deletes one batch");
        assert_eq!(purge.purge().await.unwrap(), expired as u64 - 1 - BATCH);
        assert_eq!(count(&db).await, 5 + 1, "the live records and the new one");
        assert_eq!(purge.purge().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn on_postgres() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_store_expiry");
        let db = migrated(&url, &schema).await;
        expired_records_are_purged_and_claimed_anew(db.clone()).await;
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn on_sqlite() {
        let dir = std::env::temp_dir().join(format!("talk-expiry-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}/idempotency.db?mode=rwc", dir.display());
        let db = migrated(&url, "idempotency").await;
        expired_records_are_purged_and_claimed_anew(db).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The background purge runs at once on start and stops on shutdown.
    #[tokio::test]
    async fn the_background_purge_stops_on_shutdown() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_store_purge");
        let db = migrated(&url, &schema).await;
        seed(&db, 0..3, time::now() - WINDOW - WINDOW).await;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let purge = Purge::new(db.clone(), "test", std::time::Duration::from_secs(3600));
        let running = tokio::spawn(purge.run(shutdown.clone()));
        for _ in 0..100 {
            if count(&db).await == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(count(&db).await, 0);
        shutdown.cancel();
        running.await.unwrap();
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }
}
