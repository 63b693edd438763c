//! The talks an agent may read, for message search, and the search of talk
//! names. The rule is `access::judge`'s; `queries::directory` applies it to
//! all of a customer's talks at once.

use talk_proto::TalkPage;
use talk_store::db_error;
use talk_types::{ApiError, Reason, TalkId};

use super::{Caller, Talks, convert};
use crate::db::queries::{directory, talks};

/// The longest talk search query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;

impl Talks {
    /// Ids of the talks `caller` may read (member of, or public; not deleted).
    pub async fn readable(&self, caller: &Caller) -> Result<Vec<TalkId>, ApiError> {
        directory::readable_ids(&self.db, caller.customer_id, caller.agent_id)
            .await
            .map_err(db_error)
    }

    /// Talks `caller` may read whose name contains every word of `query`
    /// (ignoring case), newest first. An empty query is 400.
    pub async fn search(
        &self,
        caller: &Caller,
        query: &str,
        page_size: u32,
        page_token: &str,
    ) -> Result<TalkPage, ApiError> {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::of(
                Reason::InvalidRequestParameter,
                format!("q is longer than {MAX_QUERY_CHARS} characters."),
            ));
        }
        let words: Vec<String> = query
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return Err(ApiError::of(
                Reason::MissingRequestParameter,
                "The parameter \"q\" is required and must not be blank.",
            ));
        }
        let (limit, before) = talk_types::page::parse(page_size, page_token)?;
        let select = directory::named(caller.customer_id, caller.agent_id, &words);
        let rows = talks::page(&self.db, select, before, limit)
            .await
            .map_err(db_error)?;
        Ok(TalkPage {
            talks: rows.iter().map(convert::talk).collect(),
            next_page_token: rows
                .last()
                .map(|t| talk_types::time::format(&t.tm_create))
                .unwrap_or_default(),
        })
    }
}
