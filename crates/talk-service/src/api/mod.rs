//! The gRPC `TalkService`: extract, call the domain, map — nothing else.

mod archive;
mod directory;
mod parse;
mod signals;

use talk_proto::talk_service_server::TalkService;
use talk_proto::{
    Access, AccessAnswer, AccessAnswers, AccessQuery, AddParticipantRequest, CreateTalkRequest,
    CreateTalkResponse, ListMembershipsRequest, ListTalksRequest, Memberships, Participant,
    ParticipantList, RemoveParticipantRequest, SetParticipantRoleRequest, Talk, TalkPage, TalkRef,
    TalkWrite, UpdateTalkRequest, WriteOptions,
};
use talk_runtime::grpc::{handle_as, handle_service};
use talk_types::{AgentId, ApiError, CustomerId, ParticipantId, Reason, TalkId};
use tonic::{Request, Response, Status};

use crate::service::{Caller, NewTalk, Talks};

pub use archive::ArchiveApi;
pub use directory::DirectoryApi;
pub use signals::SignalApi;

/// The gRPC face of [`Talks`].
#[derive(Clone)]
pub struct TalkApi {
    talks: Talks,
}

impl TalkApi {
    /// Serves `talks` over gRPC.
    pub fn new(talks: Talks) -> Self {
        Self { talks }
    }
}

fn talk_id(value: &str) -> Result<TalkId, ApiError> {
    TalkId::parse("id", value)
}

/// The write options and talk of the writes that name only a talk.
fn talk_write(request: TalkWrite) -> Result<(Option<WriteOptions>, TalkId), ApiError> {
    let TalkWrite {
        options,
        talk_id: id,
    } = request;
    Ok((options, talk_id(&id)?))
}

#[tonic::async_trait]
impl TalkService for TalkApi {
    async fn create_talk(
        &self,
        request: Request<CreateTalkRequest>,
    ) -> Result<Response<CreateTalkResponse>, Status> {
        handle_as("CreateTalk", request, |caller: Caller, r| async move {
            let CreateTalkRequest {
                options,
                r#type,
                name,
                detail,
                participants,
            } = r;
            let new = NewTalk {
                kind: parse::talk_type(&r#type)?,
                name,
                detail,
                participants: participants
                    .into_iter()
                    .map(parse::participant_ref)
                    .collect::<Result<_, _>>()?,
            };
            self.talks.create(caller, options, new).await
        })
        .await
    }

    async fn get_talk(&self, request: Request<TalkRef>) -> Result<Response<Talk>, Status> {
        handle_as("GetTalk", request, |caller: Caller, r| async move {
            let TalkRef { talk_id: id } = r;
            self.talks.get(caller, talk_id(&id)?).await
        })
        .await
    }

    async fn list_talks(
        &self,
        request: Request<ListTalksRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        handle_as("ListTalks", request, |caller: Caller, r| async move {
            let ListTalksRequest { page } = r;
            self.talks.list_mine(caller, page).await
        })
        .await
    }

    async fn list_channels(
        &self,
        request: Request<ListTalksRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        handle_as("ListChannels", request, |caller: Caller, r| async move {
            let ListTalksRequest { page } = r;
            self.talks.list_channels(caller, page).await
        })
        .await
    }

    async fn update_talk(
        &self,
        request: Request<UpdateTalkRequest>,
    ) -> Result<Response<Talk>, Status> {
        handle_as("UpdateTalk", request, |caller: Caller, r| async move {
            let UpdateTalkRequest {
                options,
                talk_id: id,
                name,
                detail,
            } = r;
            let id = talk_id(&id)?;
            self.talks.update(caller, options, id, name, detail).await
        })
        .await
    }

    async fn delete_talk(&self, request: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        handle_as("DeleteTalk", request, |caller: Caller, r| async move {
            let (options, id) = talk_write(r)?;
            self.talks.delete(caller, options, id).await
        })
        .await
    }

    async fn close_talk(&self, request: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        handle_as("CloseTalk", request, |caller: Caller, r| async move {
            let (options, id) = talk_write(r)?;
            self.talks.close(caller, options, id).await
        })
        .await
    }

    async fn reopen_talk(&self, request: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        handle_as("ReopenTalk", request, |caller: Caller, r| async move {
            let (options, id) = talk_write(r)?;
            self.talks.reopen(caller, options, id).await
        })
        .await
    }

    async fn join_talk(
        &self,
        request: Request<TalkWrite>,
    ) -> Result<Response<Participant>, Status> {
        handle_as("JoinTalk", request, |caller: Caller, r| async move {
            let (options, id) = talk_write(r)?;
            self.talks.join(caller, options, id).await
        })
        .await
    }

    async fn leave_talk(
        &self,
        request: Request<TalkWrite>,
    ) -> Result<Response<Participant>, Status> {
        handle_as("LeaveTalk", request, |caller: Caller, r| async move {
            let (options, id) = talk_write(r)?;
            self.talks.leave(caller, options, id).await
        })
        .await
    }

    async fn add_participant(
        &self,
        request: Request<AddParticipantRequest>,
    ) -> Result<Response<Participant>, Status> {
        handle_as("AddParticipant", request, |caller: Caller, r| async move {
            let AddParticipantRequest {
                options,
                talk_id: id,
                participant,
            } = r;
            let id = talk_id(&id)?;
            let agent = parse::required_participant(participant)?;
            self.talks.add(caller, options, id, agent).await
        })
        .await
    }

    async fn remove_participant(
        &self,
        request: Request<RemoveParticipantRequest>,
    ) -> Result<Response<Participant>, Status> {
        handle_as(
            "RemoveParticipant",
            request,
            |caller: Caller, r| async move {
                let RemoveParticipantRequest {
                    options,
                    talk_id: id,
                    participant_id,
                } = r;
                let id = talk_id(&id)?;
                let participant = ParticipantId::parse("participant_id", &participant_id)?;
                self.talks.remove(caller, options, id, participant).await
            },
        )
        .await
    }

    async fn set_participant_role(
        &self,
        request: Request<SetParticipantRoleRequest>,
    ) -> Result<Response<Participant>, Status> {
        handle_as(
            "SetParticipantRole",
            request,
            |caller: Caller, r| async move {
                let SetParticipantRoleRequest {
                    options,
                    talk_id: id,
                    participant_id,
                    role,
                } = r;
                let id = talk_id(&id)?;
                let participant = ParticipantId::parse("participant_id", &participant_id)?;
                let role = parse::role(&role)?;
                self.talks
                    .set_role(caller, options, id, participant, role)
                    .await
            },
        )
        .await
    }

    async fn list_participants(
        &self,
        request: Request<TalkRef>,
    ) -> Result<Response<ParticipantList>, Status> {
        handle_as(
            "ListParticipants",
            request,
            |caller: Caller, r| async move {
                let TalkRef { talk_id: id } = r;
                let participants = self.talks.list_participants(caller, talk_id(&id)?).await?;
                Ok(ParticipantList { participants })
            },
        )
        .await
    }

    async fn check_access_many(
        &self,
        request: Request<AccessQuery>,
    ) -> Result<Response<AccessAnswers>, Status> {
        handle_service("CheckAccessMany", request, |r| async move {
            let AccessQuery {
                talk_id: id,
                callers,
            } = r;
            let id = talk_id(&id)?;
            let callers = callers
                .into_iter()
                .map(Caller::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            let Some(customer) = callers.first().map(|c| c.customer_id) else {
                return Ok(AccessAnswers::default());
            };
            if callers.iter().any(|c| c.customer_id != customer) {
                return Err(ApiError::of(
                    Reason::InvalidRequestParameter,
                    "The callers of one access query must be of one customer.",
                ));
            }
            let agents: Vec<AgentId> = callers.iter().map(|c| c.agent_id).collect();
            let answers = self.talks.check_access_many(customer, id, &agents).await?;
            Ok(AccessAnswers {
                answers: answers
                    .into_iter()
                    .map(|answer| match answer {
                        Ok(access) => AccessAnswer {
                            access: Some(access),
                            refusal: None,
                        },
                        Err(e) => AccessAnswer {
                            access: None,
                            refusal: Some(e.into()),
                        },
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn check_access(&self, request: Request<TalkRef>) -> Result<Response<Access>, Status> {
        handle_as("CheckAccess", request, |caller: Caller, r| async move {
            let TalkRef { talk_id: id } = r;
            self.talks.check_access(caller, talk_id(&id)?).await
        })
        .await
    }

    async fn list_memberships(
        &self,
        request: Request<ListMembershipsRequest>,
    ) -> Result<Response<Memberships>, Status> {
        handle_service("ListMemberships", request, |r| async move {
            let ListMembershipsRequest {
                agent_id,
                customer_id,
            } = r;
            let agent = AgentId::parse("agent_id", &agent_id)?;
            let customer = CustomerId::parse("customer_id", &customer_id)?;
            let memberships = self.talks.memberships(agent, customer).await?;
            Ok(Memberships {
                talk_ids: memberships.iter().map(|(t, _)| t.to_string()).collect(),
                tm_joined: memberships
                    .iter()
                    .map(|(_, at)| talk_types::time::to_micros(at))
                    .collect(),
            })
        })
        .await
    }
}
