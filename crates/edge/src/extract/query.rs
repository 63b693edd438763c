//! Query parameters: VoIPBIN's pagination (`page_size` ≤ 100, anything else
//! silently 100; `page_token`), the required `chat_id`, and `after_seq`.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use talk_proto::PageRequest;
use talk_types::{ApiError, Reason, TalkId, time};
use uuid::Uuid;

use talk_types::page::MAX_PAGE_SIZE;

use crate::error::HttpError;

async fn query(parts: &mut Parts) -> Result<HashMap<String, String>, HttpError> {
    Query::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map(|Query(q)| q)
        .map_err(|_| {
            ApiError::of(
                Reason::InvalidRequestParameter,
                "The query string could not be parsed.",
            )
            .into()
        })
}

fn invalid_parameter(name: &str) -> HttpError {
    ApiError::of(
        Reason::InvalidRequestParameter,
        format!("The parameter \"{name}\" has an invalid format."),
    )
    .into()
}

/// `page_size` and `page_token`.
#[derive(Clone, Debug, Default)]
pub struct Pagination(pub PageRequest);

impl Pagination {
    /// Reads pagination from a parsed query string.
    fn from_query(q: &HashMap<String, String>) -> Result<Self, HttpError> {
        let page_size = match q
            .get("page_size")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            None => MAX_PAGE_SIZE,
            Some(raw) => {
                let size: i128 = raw.parse().map_err(|_| invalid_parameter("page_size"))?;
                match u32::try_from(size) {
                    Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
                    _ => MAX_PAGE_SIZE,
                }
            }
        };
        let page_token = q.get("page_token").cloned().unwrap_or_default();
        if !page_token.is_empty() && time::parse(&page_token).is_none() {
            return Err(invalid_parameter("page_token"));
        }
        Ok(Self(PageRequest {
            page_size,
            page_token,
        }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        Self::from_query(&query(parts).await?)
    }
}

/// The required `chat_id` of `GET /service_agents/talk_messages`.
#[derive(Clone, Copy, Debug)]
pub struct ChatIdQuery(pub TalkId);

impl<S: Send + Sync> FromRequestParts<S> for ChatIdQuery {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let q = query(parts).await?;
        let raw = q.get("chat_id").filter(|s| !s.is_empty()).ok_or_else(|| {
            HttpError(ApiError::of(
                Reason::MissingRequestParameter,
                "The parameter \"chat_id\" is required.",
            ))
        })?;
        Uuid::parse_str(raw)
            .map(|id| Self(TalkId(id)))
            .map_err(|_| ApiError::invalid_id("chat_id").into())
    }
}

/// The optional `after_seq` of `GET /talks/{id}/messages` (catch-up mode).
#[derive(Clone, Copy, Debug)]
pub struct AfterSeq(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for AfterSeq {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let q = query(parts).await?;
        match q
            .get("after_seq")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            None => Ok(Self(None)),
            Some(raw) => raw
                .parse()
                .map(|seq| Self(Some(seq)))
                .map_err(|_| invalid_parameter("after_seq")),
        }
    }
}
