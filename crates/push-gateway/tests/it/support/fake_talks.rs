//! A tiny TalkService that answers ListMemberships from a table the test sets,
//! and an AgentService on the same port that answers TokenStates (every agent
//! live, at the version the test sets; 0 by default); every other method is
//! unimplemented (the gateway calls nothing else).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use talk_proto::agent_service_server::{AgentService, AgentServiceServer};
use talk_proto::message_service_server::{MessageService, MessageServiceServer};
use talk_proto::talk_service_server::{TalkService, TalkServiceServer};
use talk_proto::*;
use talk_types::{AgentId, TalkId};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// The fake's membership table and address.
#[derive(Clone)]
pub struct FakeTalks {
    pub url: String,
    members: Arc<Mutex<HashMap<String, Vec<String>>>>,
    versions: Arc<Mutex<HashMap<String, u64>>>,
}

impl FakeTalks {
    /// Serves the fake on a fresh port until `shutdown`.
    pub async fn start(shutdown: CancellationToken) -> Self {
        let members = Arc::new(Mutex::new(HashMap::new()));
        let versions = Arc::new(Mutex::new(HashMap::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = tonic::service::Routes::new(TalkServiceServer::new(Fake {
            members: members.clone(),
        }))
        .add_service(AgentServiceServer::new(FakeAgents {
            versions: versions.clone(),
        }))
        .add_service(MessageServiceServer::new(FakeMessages))
        .into_axum_router();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
        });
        Self {
            url,
            members,
            versions,
        }
    }

    /// Revokes every token of `agent` issued so far (moves its version).
    pub fn revoke(&self, agent: AgentId) {
        *self
            .versions
            .lock()
            .unwrap()
            .entry(agent.to_string())
            .or_insert(0) += 1;
    }

    /// Sets the talks `agent` is an active participant of.
    pub fn set(&self, agent: AgentId, talks: &[TalkId]) {
        self.members.lock().unwrap().insert(
            agent.to_string(),
            talks.iter().map(ToString::to_string).collect(),
        );
    }
}

struct Fake {
    members: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

struct FakeAgents {
    versions: Arc<Mutex<HashMap<String, u64>>>,
}

/// No message is deleted (the events the tests publish name no stored message).
struct FakeMessages;

macro_rules! fake_messages_impl {
    ($($name:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl MessageService for FakeMessages {
            $(
                async fn $name(&self, _: Request<$req>) -> Result<Response<$resp>, Status> {
                    Err(Status::unimplemented(stringify!($name)))
                }
            )*

            async fn deleted_among(
                &self,
                _: Request<DeletedAmongRequest>,
            ) -> Result<Response<DeletedAmongResponse>, Status> {
                Ok(Response::new(DeletedAmongResponse::default()))
            }
        }
    };
}

fake_messages_impl! {
    post_message(PostMessageRequest) -> Message;
    get_message(MessageRef) -> Message;
    list_messages(ListMessagesRequest) -> MessagePage;
    list_thread(MessageRef) -> MessageList;
    list_history(MessageRef) -> EditList;
    edit_message(EditMessageRequest) -> Message;
    delete_message(MessageWrite) -> Message;
    add_reaction(ReactionRequest) -> Message;
    remove_reaction(ReactionRequest) -> Message;
    mark_read(MarkReadRequest) -> ReadState;
    list_changes(ListChangesRequest) -> MessageList;
    unread_counts(UnreadCountsRequest) -> UnreadCountsResponse;
}

macro_rules! fake_agents_impl {
    ($($name:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl AgentService for FakeAgents {
            $(
                async fn $name(&self, _: Request<$req>) -> Result<Response<$resp>, Status> {
                    Err(Status::unimplemented(stringify!($name)))
                }
            )*

            async fn token_states(
                &self,
                request: Request<TokenStatesRequest>,
            ) -> Result<Response<TokenStatesResponse>, Status> {
                let versions = self.versions.lock().unwrap();
                let states = request
                    .into_inner()
                    .agent_ids
                    .into_iter()
                    .map(|agent_id| TokenState {
                        version: versions.get(&agent_id).copied().unwrap_or(0),
                        agent_id,
                        active: true,
                    })
                    .collect();
                Ok(Response::new(TokenStatesResponse { states }))
            }
        }
    };
}

fake_agents_impl! {
    login(LoginRequest) -> LoginResponse;
    refresh(RefreshRequest) -> LoginResponse;
    create_agent(CreateAgentRequest) -> Agent;
    get_agent(GetAgentRequest) -> Agent;
    list_agents(ListAgentsRequest) -> AgentPage;
    update_agent(UpdateAgentRequest) -> Agent;
    delete_agent(DeleteAgentRequest) -> Agent;
    resolve_agents(ResolveAgentsRequest) -> ResolveAgentsResponse;
    logout(LogoutRequest) -> LogoutResponse;
    change_password(ChangePasswordRequest) -> Agent;
}

// The whole impl comes out of the macro so `async_trait` sees expanded methods.
macro_rules! fake_impl {
    ($($name:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl TalkService for Fake {
            $(
                async fn $name(&self, _: Request<$req>) -> Result<Response<$resp>, Status> {
                    Err(Status::unimplemented(stringify!($name)))
                }
            )*

            async fn list_memberships(
                &self,
                request: Request<ListMembershipsRequest>,
            ) -> Result<Response<Memberships>, Status> {
                let agent = request.into_inner().agent_id;
                let talk_ids = self
                    .members
                    .lock()
                    .unwrap()
                    .get(&agent)
                    .cloned()
                    .unwrap_or_default();
                Ok(Response::new(Memberships {
                    talk_ids,
                    tm_joined: Vec::new(),
                }))
            }
        }
    };
}

fake_impl! {
    create_talk(CreateTalkRequest) -> CreateTalkResponse;
    get_talk(TalkRef) -> Talk;
    list_talks(ListTalksRequest) -> TalkPage;
    list_channels(ListTalksRequest) -> TalkPage;
    update_talk(UpdateTalkRequest) -> Talk;
    delete_talk(TalkWrite) -> Talk;
    close_talk(TalkWrite) -> Talk;
    reopen_talk(TalkWrite) -> Talk;
    join_talk(TalkWrite) -> Participant;
    leave_talk(TalkWrite) -> Participant;
    add_participant(AddParticipantRequest) -> Participant;
    remove_participant(RemoveParticipantRequest) -> Participant;
    set_participant_role(SetParticipantRoleRequest) -> Participant;
    list_participants(TalkRef) -> ParticipantList;
    check_access(TalkRef) -> Access;
    check_access_many(AccessQuery) -> AccessAnswers;
}
