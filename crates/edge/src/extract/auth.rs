//! The caller: a token from cookie `token`, query `?token=` or
//! `Authorization: Bearer`, or an access key from `Authorization: Bearer`,
//! cookie `accesskey` or `?accesskey=`, in VoIPBIN's order; a token verified
//! and not revoked (`talk_auth::Revocations`), a key checked with
//! agent-service on every request (`talk_auth::AccessKeys`); and within its
//! agent's rate limits (`crate::limits`) either way.

use axum::extract::{FromRequestParts, Query};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use talk_auth::{Credential, Identity, Presented};
use talk_types::ApiError;

use crate::AppState;
use crate::error::HttpError;
use crate::limits;

/// An authenticated agent.
#[derive(Clone, Debug)]
pub struct Auth(pub Identity);

/// An authenticated admin (customer admin, manager or super admin).
#[derive(Clone, Debug)]
pub struct Admin(pub Identity);

#[derive(Deserialize)]
struct CredentialQuery {
    token: Option<String>,
    accesskey: Option<String>,
}

/// The credential a request carries, if any (VoIPBIN's order, see
/// [`talk_auth::credential`]).
fn credential(parts: &Parts) -> Option<Credential> {
    let jar = CookieJar::from_headers(&parts.headers);
    let query = Query::<CredentialQuery>::try_from_uri(&parts.uri)
        .ok()
        .map(|Query(q)| q);
    let query = query.as_ref();
    talk_auth::credential(Presented {
        token_cookie: jar.get("token").map(|c| c.value()),
        token_query: query.and_then(|q| q.token.as_deref()),
        authorization: parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        accesskey_cookie: jar.get("accesskey").map(|c| c.value()),
        accesskey_query: query.and_then(|q| q.accesskey.as_deref()),
    })
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let identity = match credential(parts).ok_or_else(ApiError::unauthenticated)? {
            Credential::Token(token) => {
                let identity = state.tokens.verify(&token)?;
                state.revocations.check(&identity).await?;
                identity
            }
            // Asked of agent-service every time: a deleted key fails at once.
            Credential::AccessKey(key) => state.keys.verify(&key).await?,
        };
        let read = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        limits::record(&parts.extensions, state.limits.spend(&identity, read))?;
        Ok(Self(identity))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let Auth(identity) = Auth::from_request_parts(parts, state).await?;
        if !identity.is_admin() {
            return Err(ApiError::permission_denied().into());
        }
        Ok(Self(identity))
    }
}
