//! Archiving inactive talks: each customer's setting (`archive_inactive_days`,
//! off by default) and the sweep that closes its group and public talks
//! (never direct ones) without activity for that long. Activity is the newest
//! message ([`super::activity`]), or the creation or last reopen when later.
//!
//! The sweep is [`Talks::archive_inactive`] of a clock reading: the periodic
//! [`Sweeper`] passes the real clock, tests and operators their own through
//! `ArchiveService/ArchiveInactive`. An archived talk is closed exactly like
//! a manual close (`talk_closed`, VoIPBIN's `chat_updated`), with
//! `close_reason` `inactivity` so that message-service's system message says
//! why. Each talk is checked again under its lock, so a sweep that runs twice
//! (or on two replicas) closes it once, and a talk that got a message, was
//! reopened, closed or deleted since the query is left alone.

use std::time::Duration;

use talk_events::kinds::TalkClosed;
use talk_proto::{Talk, TalkSettings};
use talk_store::{Begun, db_error};
use talk_types::time::{self, Timestamp};
use talk_types::{ApiError, CustomerId, Reason, TalkId};
use tokio_util::sync::CancellationToken;

use super::{Caller, TalkEvents, Talks, convert};
use crate::db::entities::settings;
use crate::db::entities::talk::{self, CloseReason, TalkState, TalkType};
use crate::db::queries::{self, talks};

/// The most days a customer may set: ten years.
pub const MAX_ARCHIVE_DAYS: i64 = 3650;
/// How long a sweep waits for the activity consumer to catch up with the bus.
pub const CATCH_UP: Duration = Duration::from_secs(30);
/// Talks one query of a customer's inactive talks returns.
const PAGE: u64 = 100;

/// The wire form of `customer`'s settings row (the defaults without one).
fn to_wire(customer: CustomerId, row: Option<&settings::Model>) -> TalkSettings {
    TalkSettings {
        customer_id: customer.to_string(),
        archive_inactive_days: row
            .and_then(|r| r.archive_inactive_days)
            .and_then(|d| u32::try_from(d).ok()),
        tm_update: row.map_or(0, |r| time::to_micros(&r.tm_update)),
    }
}

/// `days` if it is a number of days a customer may set (1 to
/// [`MAX_ARCHIVE_DAYS`]); 400 otherwise.
fn check_days(days: i64) -> Result<i32, ApiError> {
    i32::try_from(days)
        .ok()
        .filter(|d| (1..=MAX_ARCHIVE_DAYS).contains(&i64::from(*d)))
        .ok_or_else(|| {
            ApiError::of(
                Reason::InvalidArgument,
                format!(
                    "archive_inactive_days must be a whole number of days from 1 to \
                     {MAX_ARCHIVE_DAYS}, or null to never archive."
                ),
            )
        })
}

/// Whether `talk` is to be archived at `cutoff`: open, not deleted, not
/// direct, and without activity since before `cutoff`.
fn is_inactive(talk: &talk::Model, cutoff: Timestamp) -> bool {
    talk.state == TalkState::Active
        && talk.tm_delete.is_none()
        && talk.kind != TalkType::Direct
        && talk.tm_activity < cutoff
}

impl Talks {
    /// The caller's customer's settings.
    pub async fn settings(&self, caller: &Caller) -> Result<TalkSettings, ApiError> {
        let row = queries::settings::find(&self.db, caller.customer_id)
            .await
            .map_err(db_error)?;
        Ok(to_wire(caller.customer_id, row.as_ref()))
    }

    /// Sets the caller's customer's archiving to `days` (`None`: off);
    /// admins only.
    pub async fn update_settings(
        &self,
        caller: &Caller,
        days: Option<i64>,
    ) -> Result<TalkSettings, ApiError> {
        if !caller.is_admin() {
            return Err(ApiError::permission_denied());
        }
        let days = days.map(check_days).transpose()?;
        let row = queries::settings::put(&self.db, caller.customer_id, days, time::now())
            .await
            .map_err(db_error)?;
        Ok(to_wire(caller.customer_id, Some(&row)))
    }

    /// Closes every group and public talk of the customers that archive
    /// whose last activity is older than their setting at `now`; answers
    /// the talks it closed. Waits first for the activity consumer (503 when
    /// it is behind).
    pub async fn archive_inactive(&self, now: Timestamp) -> Result<Vec<TalkId>, ApiError> {
        if let Some(activity) = &self.activity {
            activity.caught_up(CATCH_UP).await?;
        }
        let customers = queries::settings::archiving(&self.db)
            .await
            .map_err(db_error)?;
        let mut closed = Vec::new();
        for (customer, days) in customers {
            let cutoff = now - chrono::Duration::days(i64::from(days));
            closed.extend(self.archive_customer(CustomerId(customer), cutoff).await?);
        }
        Ok(closed)
    }

    /// Closes `customer`'s talks inactive since before `cutoff`.
    async fn archive_customer(
        &self,
        customer: CustomerId,
        cutoff: Timestamp,
    ) -> Result<Vec<TalkId>, ApiError> {
        let mut closed = Vec::new();
        let mut after = None;
        loop {
            let ids = talks::inactive(&self.db, customer, cutoff, after, PAGE)
                .await
                .map_err(db_error)?;
            for id in &ids {
                if self.archive_one(customer, *id, cutoff).await? {
                    closed.push(*id);
                }
            }
            match ids.last() {
                Some(last) if ids.len() as u64 == PAGE => after = Some(*last),
                _ => return Ok(closed),
            }
        }
    }

    /// Closes one talk if, under its lock, it is still to be archived.
    async fn archive_one(
        &self,
        customer: CustomerId,
        id: TalkId,
        cutoff: Timestamp,
    ) -> Result<bool, ApiError> {
        let mut write = match self.writes.begin_keyed::<Talk>(None).await? {
            Begun::Fresh(write) => write,
            Begun::Replay(_) => return Ok(false),
        };
        let found = talks::lock(write.txn(), customer, id)
            .await
            .map_err(db_error)?;
        let Some(mut model) = found.filter(|t| is_inactive(t, cutoff)) else {
            return Ok(false);
        };
        model.close(CloseReason::Inactivity, time::now());
        let model = talks::save(write.txn(), model).await.map_err(db_error)?;
        let response = convert::talk(&model);
        write.event_about(TalkClosed(response.clone()), &model);
        write.commit(&response).await?;
        tracing::info!(talk_id = %id, customer_id = %customer, "talk archived for inactivity");
        Ok(true)
    }
}

/// The periodic sweep: [`Talks::archive_inactive`] with the real clock, at
/// once and then every `every`.
pub struct Sweeper {
    talks: Talks,
    every: Duration,
}

impl Sweeper {
    /// Sweeps `talks` every `every`; a zero `every` never sweeps.
    pub fn new(talks: Talks, every: Duration) -> Self {
        Self { talks, every }
    }

    /// Sweeps until `shutdown`. A failed sweep only warns: the next one
    /// closes what it left.
    pub async fn run(self, shutdown: CancellationToken) {
        if self.every.is_zero() {
            return;
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                swept = self.talks.archive_inactive(time::now()) => match swept {
                    Ok(closed) if closed.is_empty() => {}
                    Ok(closed) => tracing::info!(talks = closed.len(), "inactive talks archived"),
                    Err(e) => tracing::warn!(error = %e, "archiving inactive talks failed"),
                },
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }
}
