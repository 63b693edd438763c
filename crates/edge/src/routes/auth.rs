//! `POST /auth/login` (VoIPBIN's root path) and `POST /v1.0/auth/login`;
//! `POST /auth/refresh` and `POST /v1.0/auth/refresh` (trade a single-use
//! refresh token for the next pair); `POST /auth/logout` and
//! `POST /v1.0/auth/logout` (revoke every token of the caller); `PUT /v1.0/service_agents/me/password` (one's own password,
//! proving the current one).

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method};
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
use crate::limits;

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
    Ok(with_cookie(
        Json(serde_json::json!({})).into_response(),
        "",
        0,
        state.cookie_secure,
    ))
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
/// Limited per client address and per username (`crate::limits`); a
/// username whose logins keep failing backs off.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, HttpError> {
    let LoginBody { username, password } = body;
    let address = state.limits.address(&headers, &extensions);
    limits::record(&extensions, state.limits.spend_login(address, &username))?;
    let answer = state
        .clients
        .agents
        .clone()
        .login(request(LoginRequest {
            username: username.clone(),
            password,
        }))
        .await;
    match &answer {
        Ok(_) => state.limits.login_ended(&username, true),
        Err(status) if status.code() == tonic::Code::Unauthenticated => {
            state.limits.login_ended(&username, false);
        }
        Err(_) => {}
    }
    Ok(session(answer?.into_inner(), state.cookie_secure))
}

/// Trades a refresh token for the next pair; answers like a login. Limited
/// per client address, like logins.
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, HttpError> {
    let RefreshBody { refresh_token } = body;
    let address = state.limits.address(&headers, &extensions);
    limits::record(&extensions, state.limits.spend_address(address))?;
    let reply = state
        .clients
        .agents
        .clone()
        .refresh(request(RefreshRequest { refresh_token }))
        .await?
        .into_inner();
    Ok(session(reply, state.cookie_secure))
}

/// A login's answer, with the access token also set as cookie `token`.
fn session(reply: talk_proto::LoginResponse, secure: bool) -> Response {
    let (token, max_age) = (reply.token.clone(), reply.expires_in);
    with_cookie(
        Json(LoginReply::from(reply)).into_response(),
        &token,
        max_age,
        secure,
    )
}

/// `response` setting cookie `token` (cleared when empty), never cached:
/// it carries a credential.
fn with_cookie(mut response: Response, token: &str, max_age: u64, secure: bool) -> Response {
    let secure = if secure { "; Secure" } else { "" };
    let cookie =
        format!("token={token}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(SET_COOKIE, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
