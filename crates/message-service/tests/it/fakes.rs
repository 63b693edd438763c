//! Small stand-ins for talk-service (CheckAccess only) and agent-service
//! (GetAgent only), with state the tests change directly.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use talk_proto::agent_service_server::AgentService;
use talk_proto::talk_service_server::TalkService;
use talk_proto::*;
use talk_runtime::internal::Verified;
use talk_types::ApiError;
use tonic::{Request, Response, Status};

/// One talk as the fake knows it.
#[derive(Clone, Debug)]
pub struct FakeTalk {
    pub talk: Talk,
    pub members: HashSet<String>,
}

/// The fake talk-service.
#[derive(Clone, Default)]
pub struct FakeTalks {
    pub talks: Arc<Mutex<HashMap<String, FakeTalk>>>,
    /// Misbehave: let callers of any customer into any talk.
    pub any_customer: Arc<AtomicBool>,
    /// CheckAccessMany calls so far.
    pub rounds: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeTalks {
    pub fn add(&self, id: &str, customer: &str, kind: &str, members: &[&str]) {
        let talk = Talk {
            id: id.to_owned(),
            customer_id: customer.to_owned(),
            r#type: kind.to_owned(),
            state: "active".to_owned(),
            ..Default::default()
        };
        let members = members.iter().map(|m| (*m).to_owned()).collect();
        self.lock()
            .insert(id.to_owned(), FakeTalk { talk, members });
    }

    pub fn set_state(&self, id: &str, state: &str) {
        if let Some(t) = self.lock().get_mut(id) {
            t.talk.state = state.to_owned();
        }
    }

    pub fn remove_member(&self, id: &str, agent: &str) {
        if let Some(t) = self.lock().get_mut(id) {
            t.members.remove(agent);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, FakeTalk>> {
        self.talks.lock().unwrap()
    }
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in the fake"))
}

#[tonic::async_trait]
impl TalkService for FakeTalks {
    async fn create_talk(
        &self,
        _: Request<CreateTalkRequest>,
    ) -> Result<Response<CreateTalkResponse>, Status> {
        unimplemented()
    }
    async fn get_talk(&self, _: Request<TalkRef>) -> Result<Response<Talk>, Status> {
        unimplemented()
    }
    async fn list_talks(&self, _: Request<ListTalksRequest>) -> Result<Response<TalkPage>, Status> {
        unimplemented()
    }
    async fn list_channels(
        &self,
        _: Request<ListTalksRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        unimplemented()
    }
    async fn update_talk(&self, _: Request<UpdateTalkRequest>) -> Result<Response<Talk>, Status> {
        unimplemented()
    }
    async fn delete_talk(&self, _: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        unimplemented()
    }
    async fn close_talk(&self, _: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        unimplemented()
    }
    async fn reopen_talk(&self, _: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        unimplemented()
    }
    async fn join_talk(&self, _: Request<TalkWrite>) -> Result<Response<Participant>, Status> {
        unimplemented()
    }
    async fn leave_talk(&self, _: Request<TalkWrite>) -> Result<Response<Participant>, Status> {
        unimplemented()
    }
    async fn add_participant(
        &self,
        _: Request<AddParticipantRequest>,
    ) -> Result<Response<Participant>, Status> {
        unimplemented()
    }
    async fn remove_participant(
        &self,
        _: Request<RemoveParticipantRequest>,
    ) -> Result<Response<Participant>, Status> {
        unimplemented()
    }
    async fn set_participant_role(
        &self,
        _: Request<talk_proto::SetParticipantRoleRequest>,
    ) -> Result<Response<Participant>, Status> {
        unimplemented()
    }
    async fn list_participants(
        &self,
        _: Request<TalkRef>,
    ) -> Result<Response<ParticipantList>, Status> {
        unimplemented()
    }
    async fn list_memberships(
        &self,
        _: Request<ListMembershipsRequest>,
    ) -> Result<Response<Memberships>, Status> {
        unimplemented()
    }

    async fn check_access_many(
        &self,
        request: Request<AccessQuery>,
    ) -> Result<Response<AccessAnswers>, Status> {
        let AccessQuery { talk_id, callers } = request.into_inner();
        self.rounds.fetch_add(1, Ordering::Relaxed);
        let mut answers = Vec::new();
        for caller in callers {
            let mut one = Request::new(TalkRef {
                talk_id: talk_id.clone(),
            });
            one.extensions_mut().insert(Verified {
                process: "test".into(),
                acting: Some(caller),
            });
            answers.push(match self.check_access(one).await {
                Ok(access) => AccessAnswer {
                    access: Some(access.into_inner()),
                    refusal: None,
                },
                Err(status) => AccessAnswer {
                    access: None,
                    refusal: Some(ApiError::from_status(&status).into()),
                },
            });
        }
        Ok(Response::new(AccessAnswers { answers }))
    }

    async fn check_access(&self, request: Request<TalkRef>) -> Result<Response<Access>, Status> {
        let caller = acting(&request)?;
        let TalkRef { talk_id } = request.into_inner();
        let talks = self.lock();
        let Some(found) = talks.get(&talk_id).filter(|t| {
            t.talk.customer_id == caller.customer_id || self.any_customer.load(Ordering::Relaxed)
        }) else {
            return Err(ApiError::from(talk_types::Reason::TalkNotFound).into_status());
        };
        let participant = found
            .members
            .contains(&caller.agent_id)
            .then(|| Participant {
                id: format!("p-{}", caller.agent_id),
                customer_id: caller.customer_id.clone(),
                owner_type: "agent".to_owned(),
                owner_id: caller.agent_id.clone(),
                chat_id: talk_id.clone(),
                state: "active".to_owned(),
                ..Default::default()
            });
        if participant.is_none() && found.talk.r#type != "talk" {
            return Err(ApiError::permission_denied().into_status());
        }
        Ok(Response::new(Access {
            talk: Some(found.talk.clone()),
            participant,
            recent_member_ids: found.members.iter().cloned().collect(),
        }))
    }
}

/// The fake agent-service: names by agent id.
#[derive(Clone, Default)]
pub struct FakeAgents {
    pub names: Arc<Mutex<HashMap<String, String>>>,
}

impl FakeAgents {
    pub fn name(&self, agent: &str, name: &str) {
        self.names
            .lock()
            .unwrap()
            .insert(agent.to_owned(), name.to_owned());
    }
}

#[tonic::async_trait]
impl AgentService for FakeAgents {
    async fn login(&self, _: Request<LoginRequest>) -> Result<Response<LoginResponse>, Status> {
        unimplemented()
    }
    async fn refresh(
        &self,
        _: Request<talk_proto::RefreshRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        unimplemented()
    }
    async fn create_agent(
        &self,
        _: Request<CreateAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        unimplemented()
    }
    async fn list_agents(
        &self,
        _: Request<ListAgentsRequest>,
    ) -> Result<Response<AgentPage>, Status> {
        unimplemented()
    }
    async fn update_agent(
        &self,
        _: Request<UpdateAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        unimplemented()
    }
    async fn delete_agent(
        &self,
        _: Request<DeleteAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        unimplemented()
    }
    async fn resolve_agents(
        &self,
        _: Request<ResolveAgentsRequest>,
    ) -> Result<Response<ResolveAgentsResponse>, Status> {
        unimplemented()
    }
    async fn logout(
        &self,
        _: Request<talk_proto::LogoutRequest>,
    ) -> Result<Response<talk_proto::LogoutResponse>, Status> {
        unimplemented()
    }
    async fn change_password(
        &self,
        _: Request<talk_proto::ChangePasswordRequest>,
    ) -> Result<Response<Agent>, Status> {
        unimplemented()
    }
    async fn token_states(
        &self,
        _: Request<talk_proto::TokenStatesRequest>,
    ) -> Result<Response<talk_proto::TokenStatesResponse>, Status> {
        unimplemented()
    }

    async fn get_agent(
        &self,
        request: Request<GetAgentRequest>,
    ) -> Result<Response<Agent>, Status> {
        let caller = acting(&request)?;
        let GetAgentRequest { agent_id } = request.into_inner();
        let name = self
            .names
            .lock()
            .unwrap()
            .get(&agent_id)
            .cloned()
            .ok_or_else(|| ApiError::from(talk_types::Reason::AgentNotFound).into_status())?;
        Ok(Response::new(Agent {
            id: agent_id,
            customer_id: caller.customer_id,
            name,
            ..Default::default()
        }))
    }
}

/// The agent a call's verified internal token acts for, as the real
/// services take it (`talk_runtime::grpc::handle_as`).
fn acting<T>(request: &Request<T>) -> Result<talk_proto::Caller, Status> {
    request
        .extensions()
        .get::<Verified>()
        .and_then(|v| v.acting.clone())
        .ok_or_else(|| ApiError::unauthenticated().into_status())
}
