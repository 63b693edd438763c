//! `POST /auth/login` (VoIPBIN's root path) and `POST /v1.0/auth/login`;
//! `POST /auth/refresh` and `POST /v1.0/auth/refresh` (trade a single-use
//! refresh token for the next pair); `POST /auth/logout` and
//! `POST /v1.0/auth/logout` (revoke every token of the caller); `PUT /v1.0/service_agents/me/password` (one's own password,
//! proving the current one).

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use talk_proto::{ChangePasswordRequest, LoginRequest, LogoutRequest, RefreshRequest};
use talk_runtime::grpc::{acting, request};
use talk_wire::Agent;

use super::openapi::AgentDoc;
use super::{Registry, doc};
use crate::AppState;
use crate::dto::{LoginBody, LoginReply, PasswordBody, RefreshBody};
use crate::error::HttpError;
use crate::extract::{Auth, JsonBody, Write};

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
    let refresh_doc = || {
        doc(
            "auth",
            "Trade a refresh token (single-use) for a new token and refresh token",
        )
        .public()
        .body::<RefreshBody>()
        .ok::<LoginReply>(200)
    };
    let logout_doc = || doc("auth", "Log out: every token of the caller stops working");
    let password_doc = || {
        doc(
            "auth",
            "Change one's own password (VoIPBIN's body plus current_password); revokes every token",
        )
        .body::<PasswordBody>()
        .ok::<AgentDoc>(200)
    };
    registry
        .add(Method::POST, "/auth/login", login, login_doc())
        .add(Method::POST, "/v1.0/auth/login", login, login_doc())
        .add(Method::POST, "/auth/refresh", refresh, refresh_doc())
        .add(Method::POST, "/v1.0/auth/refresh", refresh, refresh_doc())
        .add(Method::POST, "/auth/logout", logout, logout_doc())
        .add(Method::POST, "/v1.0/auth/logout", logout, logout_doc())
        .add(
            Method::PUT,
            "/v1.0/service_agents/me/password",
            change_password,
            password_doc(),
        )
}

/// Revokes every token of the caller; answers `{}` and clears the cookie.
pub async fn logout(State(state): State<AppState>, Auth(me): Auth) -> Result<Response, HttpError> {
    state
        .clients
        .agents
        .clone()
        .logout(acting(me.caller(), LogoutRequest {}))
        .await?;
    let mut response = Json(serde_json::json!({})).into_response();
    let cleared = "token=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict";
    response
        .headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_static(cleared));
    Ok(response)
}

/// Sets the caller's password; answers the agent.
pub async fn change_password(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Json<Agent>, HttpError> {
    let PasswordBody {
        password,
        current_password,
    } = body;
    let agent = state
        .clients
        .agents
        .clone()
        .change_password(acting(
            me.caller(),
            ChangePasswordRequest {
                options: Some(options),
                current_password,
                password,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(agent.into()))
}

/// Checks credentials with agent-service and answers `{username, token}`
/// (and the refresh token).
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
    Ok(session(reply))
}

/// Trades a refresh token for the next pair; answers like a login.
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, HttpError> {
    let RefreshBody { refresh_token } = body;
    let reply = state
        .clients
        .agents
        .clone()
        .refresh(request(RefreshRequest { refresh_token }))
        .await?
        .into_inner();
    Ok(session(reply))
}

/// A login's answer, with the access token also set as cookie `token`.
fn session(reply: talk_proto::LoginResponse) -> Response {
    let cookie = format!(
        "token={}; Max-Age={}; Path=/; HttpOnly; SameSite=Strict",
        reply.token, reply.expires_in
    );
    let mut response = Json(LoginReply::from(reply)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}
