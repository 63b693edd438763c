//! The caller: a token from cookie `token`, query `?token=` or
//! `Authorization: Bearer`, in VoIPBIN's order; verified, not revoked
//! (`talk_auth::Revocations`), and within its rate limits (`crate::limits`).

use axum::extract::{FromRequestParts, Query};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use talk_auth::Identity;
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
struct TokenQuery {
    token: Option<String>,
}

/// The token a request carries, if any.
fn token(parts: &Parts) -> Option<String> {
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(cookie) = jar.get("token").filter(|c| !c.value().is_empty()) {
        return Some(cookie.value().to_owned());
    }
    if let Ok(Query(TokenQuery { token: Some(token) })) = Query::try_from_uri(&parts.uri)
        && !token.is_empty()
    {
        return Some(token);
    }
    let header = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = token(parts).ok_or_else(ApiError::unauthenticated)?;
        let identity = state.tokens.verify(&token)?;
        state.revocations.check(&identity).await?;
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
