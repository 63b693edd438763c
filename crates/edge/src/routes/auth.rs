//! `POST /auth/login` (VoIPBIN's root path) and `POST /v1.0/auth/login`.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use talk_proto::LoginRequest;
use talk_runtime::grpc::request;

use super::{Registry, doc};
use crate::AppState;
use crate::dto::{LoginBody, LoginReply};
use crate::error::HttpError;
use crate::extract::JsonBody;

/// Registers the login routes.
pub fn register(registry: Registry) -> Registry {
    let login_doc = || {
        doc(
            "auth",
            "Log in: returns a token and sets it as cookie `token`",
        )
        .public()
        .body::<LoginBody>()
        .ok::<LoginReply>(200)
    };
    registry
        .add(Method::POST, "/auth/login", login, login_doc())
        .add(Method::POST, "/v1.0/auth/login", login, login_doc())
}

/// Checks credentials with agent-service and answers `{username, token}`.
pub async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, HttpError> {
    let LoginBody { username, password } = body;
    let reply = state
        .clients
        .agents
        .clone()
        .login(request(LoginRequest { username, password }))
        .await?
        .into_inner();
    let cookie = format!(
        "token={}; Max-Age={}; Path=/; HttpOnly; SameSite=Strict",
        reply.token, state.token_ttl_secs
    );
    let mut response = Json(LoginReply {
        username: reply.username,
        token: reply.token,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}
