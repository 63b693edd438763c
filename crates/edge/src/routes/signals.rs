//! Live signals over REST: typing without a socket (`POST
//! /v1.0/talks/{id}/typing`, and VoIPBIN's path) and the caller's status
//! (`PUT /v1.0/service_agents/me/status`), which the talks it is in hear as
//! `agent_status_updated`. Typing is ephemeral: nothing is stored, so an
//! `Idempotency-Key` changes nothing (a retry signals again).

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde::{Deserialize, Serialize};
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{ApiError, Reason, TalkId};
use talk_wire::Agent;
use utoipa::ToSchema;

use super::openapi::AgentDoc;
use super::{Registry, doc};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Auth, Id, JsonBody, Write};

/// Registers the signal routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "signals";
    registry
        .add(
            Method::POST,
            "/v1.0/talks/{id}/typing",
            typing,
            doc(
                tag,
                "Say that you type (or work on an answer) in a talk; it lasts 6 s unless refreshed",
            )
            .body::<TypingBody>()
            .ok::<Typing>(200),
        )
        .add(
            Method::POST,
            "/v1.0/service_agents/talk_chats/{id}/typing",
            typing,
            doc(tag, "Typing in a chat (VoIPBIN path)")
                .body::<TypingBody>()
                .ok::<Typing>(200),
        )
        .add(
            Method::PUT,
            "/v1.0/service_agents/me/status",
            status,
            doc(
                tag,
                "Set your status (available, away, busy, offline, ringing); your talks hear it",
            )
            .body::<StatusBody>()
            .ok::<AgentDoc>(200),
        )
}

/// `{"state": "typing" | "working" | "stopped"}` (default `typing`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TypingBody {
    /// `typing`, `working` (a bot preparing an answer) or `stopped`.
    pub state: Option<String>,
}

/// What a typing call answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Typing {
    /// The talk.
    pub chat_id: String,
    /// The state sent.
    pub state: String,
    /// How long it lasts without a refresh (0 for `stopped`).
    pub expires_in_ms: u32,
}

/// `{"status": …}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StatusBody {
    /// `available`, `away`, `busy`, `offline` or `ringing`.
    pub status: Option<String>,
}

/// `POST /v1.0/talks/{id}/typing`: talk-service checks that the caller is an
/// active participant of the open talk and publishes the signal.
pub async fn typing(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<TalkId>,
    JsonBody(body): JsonBody<TypingBody>,
) -> Result<Json<Typing>, HttpError> {
    let TypingBody { state: typing } = body;
    let typing = typing.unwrap_or_else(|| "typing".to_owned());
    let answer = state
        .clients
        .signals
        .clone()
        .send_typing(acting(
            me.caller(),
            pb::TypingRequest {
                talk_id: id.to_string(),
                state: typing.clone(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Typing {
        chat_id: id.to_string(),
        state: typing,
        expires_in_ms: answer.expires_in_ms,
    }))
}

/// `PUT /v1.0/service_agents/me/status`: agent-service validates and stores
/// it (an unknown value is 400 naming the allowed ones), then the caller's
/// talks hear it. The status is stored whatever happens to the signal.
pub async fn status(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<Agent>, HttpError> {
    let StatusBody { status } = body;
    let status = status.ok_or_else(|| {
        ApiError::of(
            Reason::MissingField,
            "The body needs \"status\": available, away, busy, offline or ringing.",
        )
    })?;
    let agent = state
        .clients
        .agents
        .clone()
        .update_agent(acting(
            me.caller(),
            pb::UpdateAgentRequest {
                options: Some(options),
                agent_id: me.agent.id.to_string(),
                status: Some(status.clone()),
                name: None,
                detail: None,
                password: None,
                permission: None,
                ring_method: None,
            },
        ))
        .await?
        .into_inner();
    let agent = Agent::from(agent);
    let announced = state
        .clients
        .signals
        .clone()
        .announce_status(acting(
            me.caller(),
            pb::AnnounceStatusRequest {
                agent: serde_json::to_string(&agent).unwrap_or_default(),
                status,
            },
        ))
        .await;
    if let Err(e) = announced {
        tracing::warn!(agent_id = %me.agent.id, error = %e, "status stored, not announced");
    }
    Ok(Json(agent))
}
