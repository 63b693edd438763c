//! Parsing wire ids.

use talk_types::{ApiError, MessageId, Reason, TalkId};

/// Most talks one unread-count request may name.
pub const MAX_UNREAD_TALKS: usize = 1000;

/// A message id from field `field`.
pub fn message_id(field: &str, value: &str) -> Result<MessageId, ApiError> {
    MessageId::parse(field, value)
}

/// A talk id from `talk_id`.
pub fn talk_id(value: &str) -> Result<TalkId, ApiError> {
    TalkId::parse("talk_id", value)
}

/// An optional parent id; empty means none.
pub fn parent_id(value: Option<String>) -> Result<Option<MessageId>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| message_id("parent_id", &v))
        .transpose()
}

/// The talk ids of an unread-count request.
pub fn talk_ids(values: &[String]) -> Result<Vec<TalkId>, ApiError> {
    if values.len() > MAX_UNREAD_TALKS {
        return Err(ApiError::of(
            Reason::TooManyTalks,
            "At most 1000 talk ids can be asked for at once.",
        ));
    }
    values.iter().map(|v| talk_id(v)).collect()
}
