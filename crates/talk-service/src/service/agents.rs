//! The agent directory: agent-service's `ResolveAgents`.

use talk_proto::ResolveAgentsRequest;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_runtime::Channel;
use talk_types::{AgentId, ApiError, Reason};

use super::Caller;

/// Checks that agents exist in the caller's customer.
#[derive(Clone)]
pub struct Agents {
    client: AgentServiceClient<Channel>,
}

impl Agents {
    /// A directory reached at `url` (connected lazily), called with `internal`'s token.
    pub fn new(url: &str, internal: &talk_runtime::Internal) -> Result<Self, ApiError> {
        Ok(Self {
            client: AgentServiceClient::new(talk_runtime::channel(url, internal)?),
        })
    }

    /// Ok when every agent of `ids` exists in the caller's customer; else a
    /// 400 UNKNOWN_AGENT naming the missing ones.
    pub async fn require(&self, caller: &Caller, ids: &[AgentId]) -> Result<(), ApiError> {
        let ids: Vec<AgentId> = ids
            .iter()
            .copied()
            .filter(|id| *id != caller.agent_id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            ResolveAgentsRequest {
                agent_ids: ids.iter().map(ToString::to_string).collect(),
            },
        );
        let response = self
            .client
            .clone()
            .resolve_agents(request)
            .await
            .map_err(|status| talk_runtime::grpc::dependency_error(&status, "agent directory"))?
            .into_inner();
        let found: Vec<AgentId> = response
            .agents
            .iter()
            .filter_map(|a| a.id.parse().ok())
            .collect();
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !found.contains(id))
            .map(ToString::to_string)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ApiError::of(
            Reason::UnknownAgent,
            format!(
                "No agent of your customer has the id {}.",
                missing.join(", ")
            ),
        ))
    }
}
