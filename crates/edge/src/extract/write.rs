//! The [`WriteOptions`] of a mutating request (idempotency key and request
//! hash), left in the extensions by `middleware::idempotency`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use talk_proto::WriteOptions;

/// Write options for the internal call: empty when no `Idempotency-Key` was sent.
#[derive(Clone, Debug, Default)]
pub struct Write(pub WriteOptions);

impl<S: Send + Sync> FromRequestParts<S> for Write {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<WriteOptions>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}
