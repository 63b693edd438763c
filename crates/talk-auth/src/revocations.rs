//! Whether a token was revoked since it was issued: agent-service's token
//! version of its agent (`TokenStates`), remembered for a short while so a
//! request costs no call most of the time. A revoked token is refused within
//! that while ([`FRESH_FOR`]) on every edge and gateway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use talk_proto::TokenStatesRequest;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_runtime::Channel;
use talk_types::{AgentId, ApiError, Reason};

use crate::Identity;

/// Agents' current token versions, as agent-service last answered.
#[derive(Clone)]
pub struct Revocations {
    agents: AgentServiceClient<Channel>,
    known: Arc<Mutex<HashMap<AgentId, Known>>>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations").finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
struct Known {
    at: Instant,
    /// The version; None: the agent is deleted (or unknown).
    version: Option<u64>,
}

/// How long an answer of agent-service is trusted: a revoked token works for
/// at most this long on an edge or gateway that checked it just before.
pub const FRESH_FOR: Duration = Duration::from_secs(2);

/// Most agents remembered (then all are forgotten and asked again).
const MAX_KNOWN: usize = 100_000;

impl Revocations {
    /// Asks `agents`, trusting an answer for [`FRESH_FOR`].
    pub fn new(agents: AgentServiceClient<Channel>) -> Self {
        Self {
            agents,
            known: Arc::default(),
        }
    }

    /// Ok while `identity`'s token is good; 401 TOKEN_REVOKED once its agent
    /// logged out, changed its password or permission, or was deleted. When
    /// agent-service cannot answer, a remembered answer of any age serves,
    /// else 503.
    pub async fn check(&self, identity: &Identity) -> Result<(), ApiError> {
        let id = identity.agent.id;
        let known = self.remembered(id);
        let version = match known {
            Some(known) if known.at.elapsed() < FRESH_FOR => known.version,
            _ => match self.refresh(&[id]).await {
                Ok(mut answered) => answered.remove(&id).flatten(),
                Err(_) if known.is_some() => known.and_then(|k| k.version),
                Err(e) => return Err(e),
            },
        };
        judge(identity, version)
    }

    /// Asks agent-service for the versions of `ids` now (one call) and
    /// remembers them.
    pub async fn refresh(
        &self,
        ids: &[AgentId],
    ) -> Result<HashMap<AgentId, Option<u64>>, ApiError> {
        let request = TokenStatesRequest {
            agent_ids: ids.iter().map(ToString::to_string).collect(),
        };
        let answer = self
            .agents
            .clone()
            .token_states(request)
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner();
        let at = Instant::now();
        let mut answered = HashMap::with_capacity(ids.len());
        for state in answer.states {
            if let Ok(id) = state.agent_id.parse::<AgentId>() {
                answered.insert(id, state.active.then_some(state.version));
            }
        }
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() + answered.len() > MAX_KNOWN {
            known.clear();
        }
        for (id, version) in &answered {
            known.insert(
                *id,
                Known {
                    at,
                    version: *version,
                },
            );
        }
        Ok(answered)
    }

    fn remembered(&self, id: AgentId) -> Option<Known> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(&id).copied()
    }
}

/// Whether `identity`'s token is good against its agent's current version
/// (`None`: the agent is gone).
pub fn judge(identity: &Identity, current: Option<u64>) -> Result<(), ApiError> {
    match current {
        Some(version) if identity.version >= version => Ok(()),
        _ => Err(ApiError::from(Reason::TokenRevoked)),
    }
}
