//! Agents: `/v1.0/me`, `/v1.0/service_agents/me` (read, and VoIPBIN's update
//! of oneself), `/v1.0/agents` CRUD (create for admins; the rest as
//! agent-service allows) and the agent directory at both families' paths.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{AgentId, ApiError, Reason};
use talk_wire::{Agent, Page};

use super::openapi::{AgentDoc, AgentPageDoc};
use super::{Registry, doc};
use crate::AppState;
use crate::dto::{CreateAgentBody, UpdateAgentBody, UpdateMeBody};
use crate::error::HttpError;
use crate::extract::{Admin, Auth, Id, JsonBody, Pagination, Write};

/// Registers the agent routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "agents";
    registry
        .add(
            Method::GET,
            "/v1.0/me",
            me,
            doc(tag, "The caller's agent").ok::<AgentDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/service_agents/me",
            me,
            doc(tag, "The caller's agent (VoIPBIN path)").ok::<AgentDoc>(200),
        )
        .add(
            Method::PUT,
            "/v1.0/service_agents/me",
            update_me,
            doc(
                tag,
                "Update the caller's name, detail and/or ring_method (VoIPBIN path; no admin needed)",
            )
            .body::<UpdateMeBody>()
            .ok::<AgentDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/agents",
            list,
            doc(tag, "List the customer's agents")
                .paged()
                .ok::<AgentPageDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/service_agents/agents",
            list,
            doc(tag, "List the customer's agents (VoIPBIN path)")
                .paged()
                .ok::<AgentPageDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/service_agents/agents/{id}",
            get,
            doc(tag, "Get an agent of the caller's customer (VoIPBIN path)").ok::<AgentDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/agents",
            create,
            doc(
                tag,
                "Create an agent (admins); without a password: a bot that uses access keys",
            )
                .body::<CreateAgentBody>()
                .ok::<AgentDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/agents/{id}",
            get,
            doc(tag, "Get an agent").ok::<AgentDoc>(200),
        )
        .add(
            Method::PUT,
            "/v1.0/agents/{id}",
            update,
            doc(
                tag,
                "Update an agent (admins, or yourself without permission)",
            )
            .body::<UpdateAgentBody>()
            .ok::<AgentDoc>(200),
        )
        .add(
            Method::DELETE,
            "/v1.0/agents/{id}",
            delete,
            doc(tag, "Delete an agent (admins)").ok::<AgentDoc>(200),
        )
}

async fn fetch(state: &AppState, caller: pb::Caller, id: String) -> Result<Json<Agent>, HttpError> {
    let agent = state
        .clients
        .agents
        .clone()
        .get_agent(acting(caller, pb::GetAgentRequest { agent_id: id }))
        .await?
        .into_inner();
    Ok(Json(agent.into()))
}

/// `GET /v1.0/me`.
pub async fn me(State(state): State<AppState>, Auth(me): Auth) -> Result<Json<Agent>, HttpError> {
    fetch(&state, me.caller(), me.agent.id.to_string()).await
}

/// `GET /v1.0/agents/{id}`, `GET /v1.0/service_agents/agents/{id}`: an agent
/// of the caller's customer (another customer's is `404 AGENT_NOT_FOUND`).
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<AgentId>,
) -> Result<Json<Agent>, HttpError> {
    fetch(&state, me.caller(), id.to_string()).await
}

/// `GET /v1.0/agents`, `GET /v1.0/service_agents/agents`.
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    Pagination(page): Pagination,
) -> Result<Json<Page<Agent>>, HttpError> {
    let page = state
        .clients
        .agents
        .clone()
        .list_agents(acting(
            me.caller(),
            pb::ListAgentsRequest { page: Some(page) },
        ))
        .await?
        .into_inner();
    Ok(Json(Page {
        result: page.agents.into_iter().map(Agent::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `POST /v1.0/agents`.
pub async fn create(
    State(state): State<AppState>,
    Admin(me): Admin,
    Write(options): Write,
    JsonBody(body): JsonBody<CreateAgentBody>,
) -> Result<Json<Agent>, HttpError> {
    let CreateAgentBody {
        username,
        password,
        name,
        detail,
        permission,
    } = body;
    let agent = state
        .clients
        .agents
        .clone()
        .create_agent(acting(
            me.caller(),
            pb::CreateAgentRequest {
                options: Some(options),
                username,
                password: password.unwrap_or_default(),
                name: name.unwrap_or_default(),
                detail: detail.unwrap_or_default(),
                permission: permission.unwrap_or(talk_auth::PERMISSION_AGENT),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(agent.into()))
}

/// `PUT /v1.0/agents/{id}`.
pub async fn update(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<AgentId>,
    JsonBody(body): JsonBody<UpdateAgentBody>,
) -> Result<Json<Agent>, HttpError> {
    let UpdateAgentBody {
        name,
        detail,
        password,
        permission,
        ring_method,
    } = body;
    let agent = state
        .clients
        .agents
        .clone()
        .update_agent(acting(
            me.caller(),
            pb::UpdateAgentRequest {
                options: Some(options),
                agent_id: id.to_string(),
                name,
                detail,
                password,
                permission,
                ring_method,
                status: None,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(agent.into()))
}

/// `PUT /v1.0/service_agents/me`: the caller changes its own name, detail
/// and ring method (agent-service lets any agent do that to itself and
/// validates each field); nothing else of the agent changes.
pub async fn update_me(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    JsonBody(body): JsonBody<UpdateMeBody>,
) -> Result<Json<Agent>, HttpError> {
    let UpdateMeBody {
        name,
        detail,
        ring_method,
    } = body;
    if name.is_none() && detail.is_none() && ring_method.is_none() {
        return Err(ApiError::of(
            Reason::MissingField,
            "The body needs \"name\", \"detail\" and/or \"ring_method\".",
        )
        .into());
    }
    let agent = state
        .clients
        .agents
        .clone()
        .update_agent(acting(
            me.caller(),
            pb::UpdateAgentRequest {
                options: Some(options),
                agent_id: me.agent.id.to_string(),
                name,
                detail,
                ring_method,
                password: None,
                permission: None,
                status: None,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(agent.into()))
}

/// `DELETE /v1.0/agents/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<AgentId>,
) -> Result<Json<Agent>, HttpError> {
    let agent = state
        .clients
        .agents
        .clone()
        .delete_agent(acting(
            me.caller(),
            pb::DeleteAgentRequest {
                options: Some(options),
                agent_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(agent.into()))
}
