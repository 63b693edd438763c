//! The caller's mentions: the messages that mention it (newest first, in the
//! talks it may still read) and how many of them it has not read, per talk
//! (the `mention_count` beside `unread_count`; reading moves the read
//! position past them, so it resets with `MarkRead`).

use talk_proto::MessagePage;
use talk_store::db_error;
use talk_types::time;
use talk_types::{ApiError, MessageId, Reason, TalkId};

use super::{DEFAULT_PAGE, MAX_PAGE, Search};
use crate::db::queries::mentions;
use crate::service::{Caller, load_many};

impl Search {
    /// The live messages mentioning `caller` in talks it may read, newest first.
    pub async fn mentions(
        &self,
        caller: &Caller,
        page_size: u32,
        page_token: &str,
    ) -> Result<MessagePage, ApiError> {
        let size = match page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let before = match page_token {
            "" => None,
            token => Some(token_of(token)?),
        };
        let talks = self.readable(caller).await?;
        let rows = mentions::page(
            &self.db,
            caller.customer_id,
            caller.agent_id,
            &talks,
            before,
            u64::from(size),
        )
        .await
        .map_err(db_error)?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() == size as usize => {
                format!("n{}_{}", time::to_micros(&last.tm_create), last.id)
            }
            _ => String::new(),
        };
        Ok(MessagePage {
            messages: load_many(&self.db, rows).await?,
            next_page_token,
        })
    }

    /// For each of `talks`, the messages after `caller`'s read position that
    /// mention it.
    pub async fn mention_counts(
        &self,
        caller: &Caller,
        talks: &[TalkId],
    ) -> Result<Vec<u64>, ApiError> {
        let counts = mentions::unread_counts(&self.db, caller.customer_id, caller.agent_id, talks)
            .await
            .map_err(db_error)?;
        Ok(talks
            .iter()
            .map(|talk| {
                counts
                    .iter()
                    .find(|(t, _)| t == talk)
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
            })
            .collect())
    }
}

/// A `next_page_token` of [`Search::mentions`].
fn token_of(token: &str) -> Result<(time::Timestamp, MessageId), ApiError> {
    let bad = || {
        ApiError::of(
            Reason::InvalidRequestParameter,
            "The parameter \"page_token\" is not a next_page_token of this listing.",
        )
    };
    let (tm, id) = token
        .strip_prefix('n')
        .and_then(|t| t.split_once('_'))
        .ok_or_else(bad)?;
    let tm = tm
        .parse()
        .ok()
        .and_then(time::from_micros)
        .ok_or_else(bad)?;
    let id = MessageId::parse("page_token", id).map_err(|_| bad())?;
    Ok((tm, id))
}
