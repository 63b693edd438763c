//! Path ids: a non-UUID is `400 INVALID_ID` naming the parameter
//! ("The provided participant_id is not a valid UUID.").

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use talk_auth::AccessKeyId;
use talk_types::{AgentId, ApiError, MessageId, ParticipantId, Reason, TalkId};
use uuid::Uuid;

use crate::error::HttpError;

/// An id type that can come from a path parameter.
pub trait PathId: Sized + Send {
    /// Wraps a parsed UUID.
    fn from_uuid(value: Uuid) -> Self;
}

macro_rules! path_id {
    ($($t:ty),*) => {$(
        impl PathId for $t {
            fn from_uuid(value: Uuid) -> Self {
                Self(value)
            }
        }
    )*};
}
path_id!(AgentId, MessageId, ParticipantId, TalkId, AccessKeyId);

/// The path's parameters as (name, value) pairs, percent-decoded.
async fn params(parts: &mut Parts) -> Result<Vec<(String, String)>, HttpError> {
    let raw = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|_| ApiError::of(Reason::InvalidId, "The path is not valid UTF-8."))?;
    Ok(raw
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn parse<T: PathId>(name: &str, value: &str) -> Result<T, HttpError> {
    Uuid::parse_str(value)
        .map(T::from_uuid)
        .map_err(|_| ApiError::invalid_id(name).into())
}

fn nth(params: &[(String, String)], index: usize) -> Result<&(String, String), HttpError> {
    params
        .get(index)
        .ok_or_else(|| crate::error::broken("a route without its path parameter"))
}

/// The route's first path parameter (`{id}`) as a typed id.
#[derive(Clone, Copy, Debug)]
pub struct Id<T>(pub T);

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for Id<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let params = params(parts).await?;
        let (name, value) = nth(&params, 0)?;
        parse(name, value).map(Self)
    }
}

/// The route's two path parameters (`{id}` and `{participant_id}`) as typed ids.
#[derive(Clone, Copy, Debug)]
pub struct IdPair<A, B>(pub A, pub B);

impl<S: Send + Sync, A: PathId, B: PathId> FromRequestParts<S> for IdPair<A, B> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let params = params(parts).await?;
        let (first_name, first) = nth(&params, 0)?;
        let (second_name, second) = nth(&params, 1)?;
        Ok(Self(parse(first_name, first)?, parse(second_name, second)?))
    }
}

/// `/messages/{id}/reactions/{emoji}`: the message id and the URL-decoded emoji.
#[derive(Clone, Debug)]
pub struct MessageEmoji(pub MessageId, pub String);

impl<S: Send + Sync> FromRequestParts<S> for MessageEmoji {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let params = params(parts).await?;
        let (name, id) = nth(&params, 0)?;
        let (_, emoji) = nth(&params, 1)?;
        Ok(Self(parse(name, id)?, emoji.clone()))
    }
}
