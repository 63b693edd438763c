//! JSON bodies: malformed JSON, wrong JSON types, a missing body and a body
//! over the limit become VoIPBIN errors that say what is wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use talk_types::ApiError;

use crate::error::{HttpError, payload_too_large};

/// A JSON request body of type `T` (unknown fields are ignored).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = HttpError;

    async fn from_request(request: Request, state: &S) -> Result<Self, HttpError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    payload_too_large()
                } else {
                    ApiError::invalid_json("the body could not be read")
                }
            })?;
        parse(&bytes).map(Self).map_err(HttpError)
    }
}

/// Parses a body, naming what is wrong.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_json("the body is empty"));
    }
    // Every body is an object; serde would otherwise fill a struct from an
    // array (`["hi"]` as `{"text": "hi"}`).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid_json(
            "invalid type: sequence, expected a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(ApiError::invalid_json)
}
