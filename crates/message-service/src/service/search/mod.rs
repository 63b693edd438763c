//! Searching the messages a caller may read: the talks it may read come from
//! talk-service (`DirectoryService/ReadableTalks`: the live talks it is an
//! active participant of and its customer's live public talks, the rule of
//! `CheckAccess`), the matching from the index kept with each write
//! (`db::queries::search`), the highlights from here (`highlight`).

mod highlight;
mod mentioned;
pub mod query;

use sea_orm::DatabaseConnection;
use talk_proto::directory_service_client::DirectoryServiceClient;
use talk_proto::{Highlight, ReadableTalksRequest, SearchHit, SearchHits};
use talk_runtime::Channel;
use talk_store::db_error;
use talk_types::time::{self, Timestamp};
use talk_types::{AgentId, ApiError, MessageId, Reason, TalkId};

use super::{Caller, load_many};
use crate::db::queries::search::{self, Filters, Matching, Sort};

/// The largest page.
const MAX_PAGE: u32 = 100;
/// The page when none is asked for.
const DEFAULT_PAGE: u32 = 20;

/// The search of messages.
#[derive(Clone)]
pub struct Search {
    db: DatabaseConnection,
    directory: DirectoryServiceClient<Channel>,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search").finish_non_exhaustive()
    }
}

/// A search request, parsed.
pub struct Request {
    /// The query as typed.
    pub query: String,
    /// Only this talk.
    pub talk: Option<TalkId>,
    /// Only this agent's messages.
    pub author: Option<AgentId>,
    /// Only messages posted before (microseconds).
    pub before: Option<Timestamp>,
    /// Only messages posted after.
    pub after: Option<Timestamp>,
    /// Only messages with (without) medias.
    pub has_file: Option<bool>,
    /// Only messages in (out of) a thread.
    pub in_thread: Option<bool>,
    /// `newest` (or empty) or `relevance`.
    pub sort: String,
    /// Page size; 0 means the default.
    pub page_size: u32,
    /// The previous page's `next_page_token`.
    pub page_token: String,
}

impl Search {
    /// Searches messages in `db`, asking talk-service at `talk_url` which
    /// talks a caller may read, with `internal`'s token.
    pub fn new(
        db: DatabaseConnection,
        talk_url: &str,
        internal: &talk_runtime::Internal,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            db,
            directory: DirectoryServiceClient::new(talk_runtime::channel(talk_url, internal)?),
        })
    }

    /// The messages `caller` may read that match `request`.
    pub async fn messages(
        &self,
        caller: &Caller,
        request: Request,
    ) -> Result<SearchHits, ApiError> {
        let query = query::parse(&request.query)?;
        let size = match request.page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let sort = sort(&request.sort, &request.page_token)?;
        if query.is_empty() {
            return Ok(SearchHits::default());
        }
        let mut talks = self.readable(caller).await?;
        if let Some(only) = request.talk {
            talks.retain(|t| *t == only);
        }
        let filters = Filters {
            talks,
            author: request.author,
            before: request.before,
            after: request.after,
            has_file: request.has_file,
            in_thread: request.in_thread,
        };
        let (tsquery, fts5) = (query.tsquery(), query.fts5());
        let words = match self.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => tsquery.as_deref(),
            _ => fts5.as_deref(),
        };
        let matching = Matching {
            words,
            substrings: &query.substrings,
        };
        let rows = search::search(
            &self.db,
            caller.customer_id,
            &matching,
            &filters,
            &sort,
            u64::from(size),
        )
        .await
        .map_err(db_error)?;
        let next_page_token = match (&sort, rows.last()) {
            (_, None) => String::new(),
            _ if rows.len() < size as usize => String::new(),
            (Sort::Newest(_), Some(last)) => {
                format!("n{}_{}", time::to_micros(&last.tm_create), last.id)
            }
            (Sort::Relevance(offset), Some(_)) => format!("r{}", offset + u64::from(size)),
        };
        let messages = load_many(&self.db, rows).await?;
        let hits = messages
            .into_iter()
            .map(|message| {
                let h = highlight::highlight(&query, &message.text);
                SearchHit {
                    highlights: spans(&h.spans),
                    snippet: h.snippet,
                    snippet_highlights: spans(&h.snippet_spans),
                    message: Some(message),
                }
            })
            .collect();
        Ok(SearchHits {
            hits,
            next_page_token,
        })
    }

    /// The talks `caller` may read, as talk-service says.
    async fn readable(&self, caller: &Caller) -> Result<Vec<TalkId>, ApiError> {
        let request = talk_runtime::grpc::acting(caller.to_wire(), ReadableTalksRequest {});
        let reply = self
            .directory
            .clone()
            .readable_talks(request)
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner();
        reply
            .talk_ids
            .iter()
            .map(|id| TalkId::parse("talk_id", id))
            .collect::<Result<_, _>>()
            .map_err(|_| {
                tracing::warn!("talk-service answered a malformed talk id");
                ApiError::internal()
            })
    }
}

fn spans(spans: &[highlight::Span]) -> Vec<Highlight> {
    spans
        .iter()
        .map(|&(start, end)| Highlight { start, end })
        .collect()
}

/// The order `sort` names, from where `token` says.
fn sort(sort: &str, token: &str) -> Result<Sort, ApiError> {
    let bad_token = || {
        ApiError::of(
            Reason::InvalidRequestParameter,
            "The parameter \"page_token\" is not a next_page_token of this search.",
        )
    };
    match sort {
        "" | "newest" => {
            if token.is_empty() {
                return Ok(Sort::Newest(None));
            }
            let (tm, id) = token
                .strip_prefix('n')
                .and_then(|t| t.split_once('_'))
                .ok_or_else(bad_token)?;
            let tm = tm
                .parse()
                .ok()
                .and_then(time::from_micros)
                .ok_or_else(bad_token)?;
            let id = MessageId::parse("page_token", id).map_err(|_| bad_token())?;
            Ok(Sort::Newest(Some((tm, id))))
        }
        "relevance" => {
            if token.is_empty() {
                return Ok(Sort::Relevance(0));
            }
            let offset = token
                .strip_prefix('r')
                .and_then(|t| t.parse().ok())
                .filter(|o| *o <= 10_000)
                .ok_or_else(bad_token)?;
            Ok(Sort::Relevance(offset))
        }
        _ => Err(ApiError::of(
            Reason::InvalidRequestParameter,
            "The parameter \"sort\" must be newest or relevance.",
        )),
    }
}
