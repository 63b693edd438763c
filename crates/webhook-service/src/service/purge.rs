//! The delivery log is kept for [`KEPT`]: finished deliveries older than
//! that are deleted hourly, a thousand rows a statement.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use talk_types::time;
use tokio_util::sync::CancellationToken;

use super::consumer::pause;
use crate::db::queries::deliveries;

/// How long a finished delivery stays in the log (30 days).
pub const KEPT: Duration = Duration::from_secs(30 * 24 * 3600);
const EVERY: Duration = Duration::from_secs(3600);
const BATCH: u64 = 1000;

/// Purges the log of `db` until `shutdown`.
pub async fn run(db: DatabaseConnection, shutdown: CancellationToken) {
    loop {
        let before = time::now() - chrono::Duration::from_std(KEPT).unwrap_or_default();
        loop {
            match deliveries::purge_finished(&db, before, BATCH).await {
                Ok(deleted) if deleted == BATCH => continue,
                Ok(deleted) => {
                    if deleted > 0 {
                        tracing::info!(deleted, "old webhook deliveries purged");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "purging old webhook deliveries failed");
                    break;
                }
            }
        }
        if pause(&shutdown, EVERY).await {
            return;
        }
    }
}
