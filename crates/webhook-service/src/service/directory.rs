//! What webhook-service asks the other services about an agent endpoint:
//! that its agent is one of the caller's customer (agent-service's
//! `ResolveAgents`, as the caller) and which talks it is in now
//! (talk-service's `ListMemberships`, as the service itself).

use talk_auth::Caller;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_proto::{ListMembershipsRequest, ResolveAgentsRequest};
use talk_runtime::Channel;
use talk_runtime::grpc::dependency_error;
use talk_types::{AgentId, ApiError, Reason, TalkId};

/// Clients of agent- and talk-service.
#[derive(Clone)]
pub struct Directory {
    agents: AgentServiceClient<Channel>,
    talks: TalkServiceClient<Channel>,
}

impl Directory {
    /// Clients connected lazily to the configured addresses.
    pub fn new(
        config: &talk_config::Config,
        internal: &talk_runtime::Internal,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            agents: AgentServiceClient::new(talk_runtime::channel(
                &config.agent_service_url,
                internal,
            )?),
            talks: TalkServiceClient::new(talk_runtime::channel(
                &config.talk_service_url,
                internal,
            )?),
        })
    }

    /// Ok when `agent` is an agent of the caller's customer; else 400
    /// UNKNOWN_AGENT.
    pub async fn require_agent(&self, caller: &Caller, agent: AgentId) -> Result<(), ApiError> {
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            ResolveAgentsRequest {
                agent_ids: vec![agent.to_string()],
            },
        );
        let found = self
            .agents
            .clone()
            .resolve_agents(request)
            .await
            .map_err(|status| dependency_error(&status, "agent directory"))?
            .into_inner()
            .agents
            .iter()
            .any(|a| a.id == agent.to_string());
        if found {
            Ok(())
        } else {
            Err(ApiError::of(
                Reason::UnknownAgent,
                format!("agent_id: no agent of your customer has the id {agent}."),
            ))
        }
    }

    /// The talks `agent` of the caller's customer is in now.
    pub async fn talks_of(&self, caller: &Caller, agent: AgentId) -> Result<Vec<TalkId>, ApiError> {
        let request = talk_runtime::grpc::request(ListMembershipsRequest {
            agent_id: agent.to_string(),
            customer_id: caller.customer_id.to_string(),
        });
        let memberships = self
            .talks
            .clone()
            .list_memberships(request)
            .await
            .map_err(|status| dependency_error(&status, "talk directory"))?
            .into_inner();
        Ok(memberships
            .talk_ids
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect())
    }
}
