//! Small in-test gRPC fakes of agent-, talk- and message-service: they answer
//! canned resources and record what the edge sent, so the tests check only the
//! HTTP layer (the real services are tested end to end in /tests).

use std::sync::{Arc, Mutex};

use talk_proto as pb;
use talk_proto::agent_service_server::{AgentService, AgentServiceServer};
use talk_proto::message_service_server::{MessageService, MessageServiceServer};
use talk_proto::talk_service_server::{TalkService, TalkServiceServer};
use tonic::{Request, Response, Status};

/// The customer of every canned resource.
pub const CUSTOMER: &str = "5c1a5e0e-0000-4000-8000-000000000001";
/// The talk of every canned resource.
pub const TALK: &str = "5c1a5e0e-0000-4000-8000-000000000002";
/// The message of every canned resource.
pub const MESSAGE: &str = "5c1a5e0e-0000-4000-8000-000000000003";
/// Password the fake login accepts.
pub const PASSWORD: &str = "correct horse";

/// What the edge sent: (method, write options, page request) per call.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Call>>>);

/// One recorded call.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub method: &'static str,
    pub options: Option<pb::WriteOptions>,
    pub page: Option<pb::PageRequest>,
    pub detail: String,
}

impl Recorder {
    fn push<T>(
        &self,
        method: &'static str,
        _request: &Request<T>,
        options: Option<pb::WriteOptions>,
        page: Option<pb::PageRequest>,
        detail: String,
    ) {
        if let Ok(mut calls) = self.0.lock() {
            calls.push(Call {
                method,
                options,
                page,
                detail,
            });
        }
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The last call of `method`.
    pub fn last(&self, method: &str) -> Option<Call> {
        self.calls().into_iter().rev().find(|c| c.method == method)
    }
}

fn talk() -> pb::Talk {
    pb::Talk {
        id: TALK.into(),
        customer_id: CUSTOMER.into(),
        r#type: "group".into(),
        name: String::new(),
        detail: String::new(),
        member_count: 2,
        state: "active".into(),
        tm_create: 1_768_469_400_123_456,
        tm_update: 1_768_469_400_123_456,
        tm_delete: 0,
        unread_count: 0,
        last_seq: 3,
        close_reason: String::new(),
    }
}

fn participant(state: &str) -> pb::Participant {
    pb::Participant {
        id: "5c1a5e0e-0000-4000-8000-000000000004".into(),
        customer_id: CUSTOMER.into(),
        owner_type: "agent".into(),
        owner_id: "5c1a5e0e-0000-4000-8000-000000000005".into(),
        chat_id: TALK.into(),
        state: state.into(),
        tm_joined: 1_768_469_400_000_000,
        tm_left: 0,
        role: "member".into(),
    }
}

fn message(text: &str) -> pb::Message {
    pb::Message {
        id: MESSAGE.into(),
        customer_id: CUSTOMER.into(),
        owner_type: "agent".into(),
        owner_id: "5c1a5e0e-0000-4000-8000-000000000005".into(),
        chat_id: TALK.into(),
        parent_id: None,
        r#type: "normal".into(),
        text: text.into(),
        medias: vec![],
        reactions: vec![],
        mentions: vec![],
        seq: 1,
        reply_count: 0,
        tm_create: 1_768_469_400_123_456,
        tm_update: 1_768_469_400_123_456,
        tm_delete: 0,
        change_seq: 1,
    }
}

fn agent() -> pb::Agent {
    pb::Agent {
        id: "5c1a5e0e-0000-4000-8000-000000000005".into(),
        customer_id: CUSTOMER.into(),
        username: "alice".into(),
        name: "Alice".into(),
        permission: 32,
        tm_create: 1_768_469_400_000_000,
        ..Default::default()
    }
}

/// All three fakes, recording into one recorder.
#[derive(Clone, Default)]
pub struct Fakes {
    pub recorder: Recorder,
    /// Signs the fake login's tokens.
    pub tokens: Option<Arc<talk_auth::Tokens>>,
}

impl Fakes {
    /// The gRPC router of the three services.
    pub fn router(self) -> axum::Router {
        tonic::service::Routes::new(AgentServiceServer::new(self.clone()))
            .add_service(TalkServiceServer::new(self.clone()))
            .add_service(MessageServiceServer::new(self))
            .into_axum_router()
    }
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not faked"))
}

#[tonic::async_trait]
impl AgentService for Fakes {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let body = request.get_ref();
        if body.password != PASSWORD {
            return Err(talk_types::ApiError::invalid_credentials().into_status());
        }
        let agent = agent();
        let claim = talk_auth::AgentClaim {
            id: agent.id.parse().map_err(|_| Status::internal("id"))?,
            customer_id: agent
                .customer_id
                .parse()
                .map_err(|_| Status::internal("id"))?,
            username: body.username.clone(),
            name: agent.name.clone(),
            permission: agent.permission,
        };
        let tokens = self
            .tokens
            .as_ref()
            .ok_or_else(|| Status::internal("no tokens"))?;
        let token = tokens.issue(claim).map_err(|e| e.into_status())?;
        Ok(Response::new(pb::LoginResponse {
            username: body.username.clone(),
            token,
            agent: Some(agent),
            refresh_token: "refresh".into(),
            expires_in: 3600,
            refresh_expires_in: 86_400,
        }))
    }
    async fn refresh(
        &self,
        _: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        unimplemented()
    }
    async fn create_agent(
        &self,
        request: Request<pb::CreateAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        self.recorder.push(
            "CreateAgent",
            &request,
            request.get_ref().options.clone(),
            None,
            String::new(),
        );
        Ok(Response::new(agent()))
    }
    async fn get_agent(
        &self,
        request: Request<pb::GetAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        self.recorder.push(
            "GetAgent",
            &request,
            None,
            None,
            request.get_ref().agent_id.clone(),
        );
        Ok(Response::new(agent()))
    }
    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::AgentPage>, Status> {
        self.recorder.push(
            "ListAgents",
            &request,
            None,
            request.get_ref().page.clone(),
            String::new(),
        );
        Ok(Response::new(pb::AgentPage {
            agents: vec![agent()],
            next_page_token: String::new(),
        }))
    }
    async fn update_agent(
        &self,
        _: Request<pb::UpdateAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        unimplemented()
    }
    async fn delete_agent(
        &self,
        _: Request<pb::DeleteAgentRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        unimplemented()
    }
    async fn resolve_agents(
        &self,
        _: Request<pb::ResolveAgentsRequest>,
    ) -> Result<Response<pb::ResolveAgentsResponse>, Status> {
        unimplemented()
    }
    async fn logout(
        &self,
        _: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        unimplemented()
    }
    async fn change_password(
        &self,
        _: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::Agent>, Status> {
        unimplemented()
    }
    /// Every agent the tests name is live, at token version 0.
    async fn token_states(
        &self,
        request: Request<pb::TokenStatesRequest>,
    ) -> Result<Response<pb::TokenStatesResponse>, Status> {
        let states = request
            .into_inner()
            .agent_ids
            .into_iter()
            .map(|agent_id| pb::TokenState {
                agent_id,
                version: 0,
                active: true,
            })
            .collect();
        Ok(Response::new(pb::TokenStatesResponse { states }))
    }
}

#[tonic::async_trait]
impl TalkService for Fakes {
    async fn create_talk(
        &self,
        request: Request<pb::CreateTalkRequest>,
    ) -> Result<Response<pb::CreateTalkResponse>, Status> {
        let body = request.get_ref();
        let detail = body
            .participants
            .iter()
            .map(|p| format!("{}:{}", p.owner_type, p.owner_id))
            .collect::<Vec<_>>()
            .join(",");
        self.recorder
            .push("CreateTalk", &request, body.options.clone(), None, detail);
        Ok(Response::new(pb::CreateTalkResponse {
            talk: Some(talk()),
            created: true,
        }))
    }
    async fn get_talk(&self, request: Request<pb::TalkRef>) -> Result<Response<pb::Talk>, Status> {
        if request.get_ref().talk_id != TALK {
            return Err(talk_types::ApiError::from(talk_types::Reason::TalkNotFound).into_status());
        }
        Ok(Response::new(talk()))
    }
    async fn list_talks(
        &self,
        request: Request<pb::ListTalksRequest>,
    ) -> Result<Response<pb::TalkPage>, Status> {
        self.recorder.push(
            "ListTalks",
            &request,
            None,
            request.get_ref().page.clone(),
            String::new(),
        );
        Ok(Response::new(pb::TalkPage {
            talks: vec![talk()],
            next_page_token: "2026-01-15T09:30:00.123456Z".into(),
        }))
    }
    async fn list_channels(
        &self,
        _: Request<pb::ListTalksRequest>,
    ) -> Result<Response<pb::TalkPage>, Status> {
        Ok(Response::new(pb::TalkPage {
            talks: vec![],
            next_page_token: String::new(),
        }))
    }
    async fn update_talk(
        &self,
        _: Request<pb::UpdateTalkRequest>,
    ) -> Result<Response<pb::Talk>, Status> {
        Err(Status::internal("database exploded at row 7"))
    }
    async fn delete_talk(&self, _: Request<pb::TalkWrite>) -> Result<Response<pb::Talk>, Status> {
        unimplemented()
    }
    async fn close_talk(&self, _: Request<pb::TalkWrite>) -> Result<Response<pb::Talk>, Status> {
        Err(
            talk_types::ApiError::of(talk_types::Reason::TalkClosed, "The talk is closed.")
                .into_status(),
        )
    }
    async fn reopen_talk(&self, _: Request<pb::TalkWrite>) -> Result<Response<pb::Talk>, Status> {
        unimplemented()
    }
    async fn join_talk(
        &self,
        _: Request<pb::TalkWrite>,
    ) -> Result<Response<pb::Participant>, Status> {
        Ok(Response::new(participant("active")))
    }
    async fn leave_talk(
        &self,
        _: Request<pb::TalkWrite>,
    ) -> Result<Response<pb::Participant>, Status> {
        Ok(Response::new(participant("left")))
    }

    async fn set_participant_role(
        &self,
        request: Request<pb::SetParticipantRoleRequest>,
    ) -> Result<Response<pb::Participant>, Status> {
        self.recorder.push(
            "SetParticipantRole",
            &request,
            request.get_ref().options.clone(),
            None,
            request.get_ref().role.clone(),
        );
        Ok(Response::new(participant("active")))
    }
    async fn add_participant(
        &self,
        request: Request<pb::AddParticipantRequest>,
    ) -> Result<Response<pb::Participant>, Status> {
        let detail = request
            .get_ref()
            .participant
            .as_ref()
            .map(|p| format!("{}:{}", p.owner_type, p.owner_id))
            .unwrap_or_default();
        self.recorder.push(
            "AddParticipant",
            &request,
            request.get_ref().options.clone(),
            None,
            detail,
        );
        Ok(Response::new(participant("active")))
    }
    async fn remove_participant(
        &self,
        request: Request<pb::RemoveParticipantRequest>,
    ) -> Result<Response<pb::Participant>, Status> {
        self.recorder.push(
            "RemoveParticipant",
            &request,
            request.get_ref().options.clone(),
            None,
            request.get_ref().participant_id.clone(),
        );
        Ok(Response::new(participant("left")))
    }
    async fn list_participants(
        &self,
        _: Request<pb::TalkRef>,
    ) -> Result<Response<pb::ParticipantList>, Status> {
        Ok(Response::new(pb::ParticipantList {
            participants: vec![participant("active")],
        }))
    }
    async fn check_access(&self, _: Request<pb::TalkRef>) -> Result<Response<pb::Access>, Status> {
        unimplemented()
    }
    async fn check_access_many(
        &self,
        _: Request<pb::AccessQuery>,
    ) -> Result<Response<pb::AccessAnswers>, Status> {
        unimplemented()
    }
    async fn list_memberships(
        &self,
        _: Request<pb::ListMembershipsRequest>,
    ) -> Result<Response<pb::Memberships>, Status> {
        unimplemented()
    }
}

#[tonic::async_trait]
impl MessageService for Fakes {
    async fn post_message(
        &self,
        request: Request<pb::PostMessageRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        let body = request.get_ref();
        let detail = format!(
            "talk={} type={} parent={:?} medias={:?}",
            body.talk_id, body.r#type, body.parent_id, body.medias
        );
        self.recorder
            .push("PostMessage", &request, body.options.clone(), None, detail);
        Ok(Response::new(message(&body.text)))
    }
    async fn get_message(
        &self,
        _: Request<pb::MessageRef>,
    ) -> Result<Response<pb::Message>, Status> {
        Ok(Response::new(message("hello")))
    }
    async fn list_messages(
        &self,
        request: Request<pb::ListMessagesRequest>,
    ) -> Result<Response<pb::MessagePage>, Status> {
        self.recorder.push(
            "ListMessages",
            &request,
            None,
            request.get_ref().page.clone(),
            request.get_ref().talk_id.clone(),
        );
        Ok(Response::new(pb::MessagePage {
            messages: vec![message("hello")],
            next_page_token: "2026-01-15T09:30:00.123456Z".into(),
        }))
    }
    async fn list_thread(
        &self,
        _: Request<pb::MessageRef>,
    ) -> Result<Response<pb::MessageList>, Status> {
        Ok(Response::new(pb::MessageList {
            messages: vec![message("root")],
        }))
    }
    async fn list_history(
        &self,
        _: Request<pb::MessageRef>,
    ) -> Result<Response<pb::EditList>, Status> {
        Ok(Response::new(pb::EditList {
            edits: vec![pb::Edit {
                text: "before".into(),
                tm_edit: 1_768_469_400_000_000,
            }],
        }))
    }
    async fn edit_message(
        &self,
        request: Request<pb::EditMessageRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        Ok(Response::new(message(&request.get_ref().text)))
    }
    async fn delete_message(
        &self,
        _: Request<pb::MessageWrite>,
    ) -> Result<Response<pb::Message>, Status> {
        unimplemented()
    }
    async fn add_reaction(
        &self,
        request: Request<pb::ReactionRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        self.recorder.push(
            "AddReaction",
            &request,
            request.get_ref().options.clone(),
            None,
            request.get_ref().emoji.clone(),
        );
        Ok(Response::new(message("hello")))
    }
    async fn remove_reaction(
        &self,
        request: Request<pb::ReactionRequest>,
    ) -> Result<Response<pb::Message>, Status> {
        self.recorder.push(
            "RemoveReaction",
            &request,
            request.get_ref().options.clone(),
            None,
            request.get_ref().emoji.clone(),
        );
        Ok(Response::new(message("hello")))
    }
    async fn mark_read(
        &self,
        request: Request<pb::MarkReadRequest>,
    ) -> Result<Response<pb::ReadState>, Status> {
        let seq = request.get_ref().seq;
        Ok(Response::new(pb::ReadState {
            talk_id: TALK.into(),
            last_read_seq: seq,
            last_seq: 3,
            unread_count: 3 - seq.min(3),
        }))
    }
    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::MessageList>, Status> {
        self.recorder.push(
            "ListChanges",
            &request,
            None,
            None,
            request.get_ref().after_seq.to_string(),
        );
        Ok(Response::new(pb::MessageList {
            messages: vec![message("changed")],
        }))
    }
    async fn deleted_among(
        &self,
        _: Request<pb::DeletedAmongRequest>,
    ) -> Result<Response<pb::DeletedAmongResponse>, Status> {
        unimplemented()
    }

    async fn unread_counts(
        &self,
        request: Request<pb::UnreadCountsRequest>,
    ) -> Result<Response<pb::UnreadCountsResponse>, Status> {
        let states = request
            .get_ref()
            .talk_ids
            .iter()
            .map(|id| pb::ReadState {
                talk_id: id.clone(),
                last_read_seq: 1,
                last_seq: 3,
                unread_count: 2,
            })
            .collect();
        Ok(Response::new(pb::UnreadCountsResponse { states }))
    }
}
