//! The orphan sweep: uploads that never completed and files never attached
//! to any message, a day after they were made, lose their content and row.

use std::time::Duration;

use talk_types::{ApiError, time};
use tokio_util::sync::CancellationToken;

use super::Files;
use crate::db::queries::files;
use crate::error::db;

/// How old an upload must be to be an orphan.
pub const ORPHAN_AGE: Duration = Duration::from_secs(24 * 3600);
/// Rows looked at per round.
const BATCH: u64 = 500;

impl Files {
    /// Collects orphans created before `before` (micros since the epoch);
    /// answers how many.
    pub async fn collect_orphans(&self, before_micros: i64) -> Result<u32, ApiError> {
        let before = time::from_micros(before_micros).ok_or_else(|| {
            ApiError::of(
                talk_types::Reason::InvalidRequestParameter,
                "before_micros is not a time.",
            )
        })?;
        let mut collected = 0u32;
        loop {
            let rows = files::orphans(&self.db, before, BATCH).await.map_err(db)?;
            let round = rows.len();
            for row in rows {
                if let Err(e) = self.remove_content(&row).await {
                    tracing::warn!(file_id = %row.id, error = %e, "collecting an orphan's content failed");
                    return Ok(collected);
                }
                files::remove(&self.db, row.id).await.map_err(db)?;
                collected = collected.saturating_add(1);
            }
            if (round as u64) < BATCH {
                break;
            }
        }
        if collected > 0 {
            tracing::info!(collected, "orphaned uploads collected");
        }
        Ok(collected)
    }
}

/// Sweeps every `every` (never when zero) until `shutdown`.
pub async fn run(files: Files, every: Duration, shutdown: CancellationToken) {
    if every.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let cutoff = time::now() - chrono::Duration::from_std(ORPHAN_AGE).unwrap_or_default();
        if let Err(e) = files.collect_orphans(time::to_micros(&cutoff)).await {
            tracing::warn!(error = %e, "orphan sweep failed");
        }
    }
}
