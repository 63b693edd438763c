//! The gRPC `AgentService` and `AccessKeyService`: extract, call the
//! service, map.

mod access_keys;
mod convert;

pub use access_keys::AccessKeyApi;

use talk_proto::agent_service_server::AgentService;
use talk_proto::{
    Agent, AgentPage, ChangePasswordRequest, CreateAgentRequest, DeleteAgentRequest,
    GetAgentRequest, ListAgentsRequest, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse,
    RefreshRequest, ResolveAgentsRequest, ResolveAgentsResponse, TokenStatesRequest,
    TokenStatesResponse, UpdateAgentRequest,
};
use talk_runtime::grpc::{handle_as, handle_service};
use talk_types::AgentId;
use tonic::{Request, Response, Status};

use crate::service::{AgentUpdate, Agents, Caller, NewAgent, Session};
use crate::wire;

/// The gRPC server of agent-service.
#[derive(Clone, Debug)]
pub struct AgentApi {
    agents: Agents,
}

impl AgentApi {
    /// Serves `agents`.
    pub fn new(agents: Agents) -> Self {
        Self { agents }
    }
}

/// A login's or a refresh's answer.
fn session(session: Session) -> LoginResponse {
    LoginResponse {
        username: session.agent.username.clone(),
        token: session.token,
        agent: Some(wire::agent(&session.agent)),
        refresh_token: session.refresh_token,
        expires_in: session.expires_in,
        refresh_expires_in: session.refresh_expires_in,
    }
}

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        handle_service("Login", request, |req| async move {
            let LoginRequest { username, password } = req;
            let found = self.agents.login(&username, password).await?;
            Ok(session(found))
        })
        .await
    }

    async fn refresh(
        &self,
        request: Request<RefreshRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        handle_service("Refresh", request, |req| async move {
            let found = self.agents.refresh(&req.refresh_token).await?;
            Ok(session(found))
        })
        .await
    }

    async fn create_agent(
        &self,
        request: Request<CreateAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        handle_as("CreateAgent", request, |caller: Caller, req| async move {
            let CreateAgentRequest {
                options,
                username,
                password,
                name,
                detail,
                permission,
            } = req;
            let new = NewAgent {
                username,
                password,
                name,
                detail,
                permission,
            };
            self.agents.create(&caller, options.as_ref(), new).await
        })
        .await
    }

    async fn get_agent(
        &self,
        request: Request<GetAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        handle_as("GetAgent", request, |caller: Caller, req| async move {
            let GetAgentRequest { agent_id } = req;
            let id = convert::agent_id(&agent_id)?;
            let row = self.agents.get(&caller, id).await?;
            Ok(wire::agent(&row))
        })
        .await
    }

    async fn list_agents(
        &self,
        request: Request<ListAgentsRequest>,
    ) -> Result<Response<AgentPage>, Status> {
        handle_as("ListAgents", request, |caller: Caller, req| async move {
            let ListAgentsRequest { page } = req;
            let talk_proto::PageRequest {
                page_size,
                page_token,
            } = page.unwrap_or_default();
            let page = self.agents.list(&caller, page_size, &page_token).await?;
            Ok(AgentPage {
                agents: page.agents.iter().map(wire::agent).collect(),
                next_page_token: page.next_page_token,
            })
        })
        .await
    }

    async fn update_agent(
        &self,
        request: Request<UpdateAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        handle_as("UpdateAgent", request, |caller: Caller, req| async move {
            let UpdateAgentRequest {
                options,
                agent_id,
                name,
                detail,
                password,
                permission,
                ring_method,
                status,
            } = req;
            let id = convert::agent_id(&agent_id)?;
            let update = AgentUpdate {
                name,
                detail,
                password,
                permission,
                ring_method,
                status,
            };
            self.agents
                .update(&caller, options.as_ref(), id, update)
                .await
        })
        .await
    }

    async fn delete_agent(
        &self,
        request: Request<DeleteAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        handle_as("DeleteAgent", request, |caller: Caller, req| async move {
            let DeleteAgentRequest { options, agent_id } = req;
            let id = convert::agent_id(&agent_id)?;
            self.agents.delete(&caller, options.as_ref(), id).await
        })
        .await
    }

    async fn resolve_agents(
        &self,
        request: Request<ResolveAgentsRequest>,
    ) -> Result<Response<ResolveAgentsResponse>, Status> {
        handle_as("ResolveAgents", request, |caller: Caller, req| async move {
            let ResolveAgentsRequest { agent_ids } = req;
            let (rows, missing) = self.agents.resolve(&caller, &agent_ids).await?;
            Ok(ResolveAgentsResponse {
                agents: rows.iter().map(wire::agent).collect(),
                missing,
            })
        })
        .await
    }

    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        handle_as(
            "Logout",
            request,
            |caller: Caller, _: LogoutRequest| async move {
                self.agents.logout(&caller).await?;
                Ok(LogoutResponse {})
            },
        )
        .await
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<Agent>, Status> {
        handle_as(
            "ChangePassword",
            request,
            |caller: Caller, req| async move {
                let ChangePasswordRequest {
                    options,
                    current_password,
                    password,
                } = req;
                self.agents
                    .change_password(&caller, options.as_ref(), current_password, password)
                    .await
            },
        )
        .await
    }

    async fn token_states(
        &self,
        request: Request<TokenStatesRequest>,
    ) -> Result<Response<TokenStatesResponse>, Status> {
        handle_service("TokenStates", request, |req| async move {
            let ids = req
                .agent_ids
                .iter()
                .map(|id| AgentId::parse("agent_ids", id))
                .collect::<Result<Vec<_>, _>>()?;
            let states = self.agents.token_states(&ids).await?;
            Ok(TokenStatesResponse { states })
        })
        .await
    }
}
