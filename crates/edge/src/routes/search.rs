//! Search (Talk's extension; VoIPBIN has none): `GET /v1.0/search/messages`
//! over every message the caller may read, and `GET /v1.0/search/talks` over
//! the names of the talks it may read. Parameters are checked here (an
//! unknown one is 400, so a misspelt filter never silently widens a search);
//! the query's meaning, the access rule and the index live in
//! message-service (`service/search`) and talk-service (`DirectoryService`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Method;
use serde::Serialize;
use talk_auth::Identity;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{ApiError, Reason, time};
use talk_wire::{Message, Page, Talk};
use utoipa::ToSchema;

use super::openapi::{MessagePageDoc, TalkPageDoc};
use super::{Registry, doc};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::Auth;

/// One message found.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchHit {
    /// The message as `GET /v1.0/messages/{id}` shows it.
    pub message: Message,
    /// Where the query matched the message's text: `[start, end)` in UTF-16
    /// code units (JavaScript string indices), in order.
    pub highlights: Vec<Span>,
    /// A short excerpt of the text around the first match (the whole text
    /// when short; `…` marks a cut).
    pub snippet: String,
    /// Where the query matched the snippet.
    pub snippet_highlights: Vec<Span>,
}

/// A matched span of text.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct Span {
    /// First UTF-16 code unit.
    pub start: u32,
    /// One past the last.
    pub end: u32,
}

/// A page of search hits.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchPage {
    /// The hits, newest first (or best first with `sort=relevance`).
    pub result: Vec<SearchHit>,
    /// Pass as `page_token` for the next page ("" when this is the last).
    pub next_page_token: String,
}

const MESSAGE_PARAMETERS: &[&str] = &[
    "q",
    "talk_id",
    "chat_id",
    "author_id",
    "before",
    "after",
    "has_file",
    "in_thread",
    "sort",
    "page_size",
    "page_token",
];
const TALK_PARAMETERS: &[&str] = &["q", "page_size", "page_token"];

/// Registers the search routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "search";
    registry
        .add(
            Method::GET,
            "/v1.0/search/messages",
            messages,
            doc(tag, "Search the messages the caller may read")
                .query(
                    "q",
                    true,
                    "Words, \"phrases\" and prefix* words, all required.",
                )
                .query("talk_id", false, "Only this talk (chat_id is the same).")
                .query("author_id", false, "Only this agent's messages.")
                .query(
                    "before",
                    false,
                    "Only messages posted before (RFC 3339 or YYYY-MM-DD).",
                )
                .query(
                    "after",
                    false,
                    "Only messages posted after (RFC 3339 or YYYY-MM-DD).",
                )
                .query(
                    "has_file",
                    false,
                    "true: only messages with medias; false: without.",
                )
                .query(
                    "in_thread",
                    false,
                    "true: only replies and messages with replies; false: neither.",
                )
                .query("sort", false, "newest (default) or relevance.")
                .paged()
                .ok::<SearchPage>(200),
        )
        .add(
            Method::GET,
            "/v1.0/me/mentions",
            mentions,
            doc(tag, "Messages that mention the caller, newest first")
                .paged()
                .ok::<MessagePageDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/search/talks",
            talks,
            doc(tag, "Search the names of the talks the caller may read")
                .query("q", true, "Words the name must contain.")
                .paged()
                .ok::<TalkPageDoc>(200),
        )
}

fn invalid(message: String) -> HttpError {
    ApiError::of(Reason::InvalidRequestParameter, message).into()
}

/// The query string, every parameter one of `known`.
fn parameters(
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
    known: &[&str],
) -> Result<HashMap<String, String>, HttpError> {
    let Query(q) = query.map_err(|_| invalid("The query string could not be parsed.".into()))?;
    if let Some(unknown) = q.keys().find(|k| !known.contains(&k.as_str())) {
        let unknown: String = unknown.chars().take(64).collect();
        return Err(invalid(format!(
            "Unknown parameter \"{unknown}\"; known: {}.",
            known.join(", ")
        )));
    }
    Ok(q)
}

/// A non-empty parameter.
fn given<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn boolean(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>, HttpError> {
    given(q, name)
        .map(|raw| match raw {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(invalid(format!(
                "The parameter \"{name}\" must be true or false."
            ))),
        })
        .transpose()
}

/// A time filter: RFC 3339, or a date (its midnight, UTC).
fn moment(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, HttpError> {
    given(q, name)
        .map(|raw| {
            time::parse(raw)
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t.and_utc())
                })
                .map(|t| time::to_micros(&t))
                .ok_or_else(|| {
                    invalid(format!(
                        "The parameter \"{name}\" must be a time like 2026-01-15T09:30:00Z or a date like 2026-01-15."
                    ))
                })
        })
        .transpose()
}

fn id(q: &HashMap<String, String>, names: &[&str]) -> Result<Option<String>, HttpError> {
    for name in names {
        if let Some(raw) = given(q, name) {
            uuid::Uuid::parse_str(raw).map_err(|_| HttpError::from(ApiError::invalid_id(name)))?;
            return Ok(Some(raw.to_owned()));
        }
    }
    Ok(None)
}

fn page_size(q: &HashMap<String, String>) -> Result<u32, HttpError> {
    given(q, "page_size")
        .map(|raw| {
            raw.parse::<i128>()
                .map(|n| u32::try_from(n.clamp(0, 100)).unwrap_or(0))
                .map_err(|_| invalid("The parameter \"page_size\" has an invalid format.".into()))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// `GET /v1.0/search/messages`.
pub async fn messages(
    State(state): State<AppState>,
    Auth(me): Auth,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SearchPage>, HttpError> {
    let q = parameters(query, MESSAGE_PARAMETERS)?;
    let request = pb::SearchMessagesRequest {
        query: q.get("q").cloned().unwrap_or_default(),
        talk_id: id(&q, &["talk_id", "chat_id"])?,
        author_id: id(&q, &["author_id"])?,
        before: moment(&q, "before")?,
        after: moment(&q, "after")?,
        has_file: boolean(&q, "has_file")?,
        in_thread: boolean(&q, "in_thread")?,
        sort: given(&q, "sort").unwrap_or_default().to_owned(),
        page_size: page_size(&q)?,
        page_token: given(&q, "page_token").unwrap_or_default().to_owned(),
    };
    let reply = state
        .clients
        .search
        .clone()
        .search_messages(acting(me.caller(), request))
        .await?
        .into_inner();
    Ok(Json(SearchPage {
        result: reply.hits.into_iter().map(|h| hit(&me, h)).collect(),
        next_page_token: reply.next_page_token,
    }))
}

fn hit(me: &Identity, hit: pb::SearchHit) -> SearchHit {
    let pb::SearchHit {
        message,
        highlights,
        snippet,
        snippet_highlights,
    } = hit;
    let spans = |spans: Vec<pb::Highlight>| {
        spans
            .into_iter()
            .map(|pb::Highlight { start, end }| Span { start, end })
            .collect()
    };
    SearchHit {
        message: Message::from(message.unwrap_or_default()).viewed_by(&me.agent.id.to_string()),
        highlights: spans(highlights),
        snippet,
        snippet_highlights: spans(snippet_highlights),
    }
}

/// `GET /v1.0/search/talks`.
pub async fn talks(
    State(state): State<AppState>,
    Auth(me): Auth,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Talk>>, HttpError> {
    let q = parameters(query, TALK_PARAMETERS)?;
    let page_token = given(&q, "page_token").unwrap_or_default().to_owned();
    if !page_token.is_empty() && time::parse(&page_token).is_none() {
        return Err(invalid(
            "The parameter \"page_token\" has an invalid format.".into(),
        ));
    }
    let request = pb::SearchTalksRequest {
        query: q.get("q").cloned().unwrap_or_default(),
        page_size: page_size(&q)?,
        page_token,
    };
    let reply = state
        .clients
        .directory
        .clone()
        .search_talks(acting(me.caller(), request))
        .await?
        .into_inner();
    Ok(Json(Page {
        result: super::talks::with_unread(&state, &me, reply.talks).await,
        next_page_token: reply.next_page_token,
    }))
}

/// `GET /v1.0/me/mentions`.
pub async fn mentions(
    State(state): State<AppState>,
    Auth(me): Auth,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Message>>, HttpError> {
    let q = parameters(query, &["page_size", "page_token"])?;
    let request = pb::ListMentionsRequest {
        page_size: page_size(&q)?,
        page_token: given(&q, "page_token").unwrap_or_default().to_owned(),
    };
    let reply = state
        .clients
        .search
        .clone()
        .list_mentions(acting(me.caller(), request))
        .await?
        .into_inner();
    let id = me.agent.id.to_string();
    Ok(Json(Page {
        result: reply
            .messages
            .into_iter()
            .map(|m| Message::from(m).viewed_by(&id))
            .collect(),
        next_page_token: reply.next_page_token,
    }))
}

/// Sets the caller's `mention_count` on `talks` (a talk listing). A failure
/// is logged and leaves the counts at 0: the listing still works.
pub(crate) async fn with_mention_counts(state: &AppState, me: &Identity, talks: &mut [Talk]) {
    if talks.is_empty() {
        return;
    }
    let request = pb::MentionCountsRequest {
        talk_ids: talks.iter().map(|t| t.id.clone()).collect(),
    };
    match state
        .clients
        .search
        .clone()
        .mention_counts(acting(me.caller(), request))
        .await
    {
        Ok(reply) => {
            for (talk, count) in talks.iter_mut().zip(reply.into_inner().counts) {
                talk.mention_count = count;
            }
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), error = %status.message(), "mention counts unavailable");
        }
    }
}
