//! The gRPC `TalkService`: extract, call the domain, map — nothing else.

mod parse;

use talk_proto::talk_service_server::TalkService;
use talk_proto::{
    Access, AccessAnswer, AccessAnswers, AccessQuery, AddParticipantRequest, CreateTalkRequest,
    CreateTalkResponse, ListMembershipsRequest, ListTalksRequest, Memberships, Participant,
    ParticipantList, RemoveParticipantRequest, SetParticipantRoleRequest, Talk, TalkPage, TalkRef,
    TalkWrite, UpdateTalkRequest, WriteOptions,
};
use talk_runtime::grpc::handle;
use talk_types::{AgentId, ApiError, CustomerId, ParticipantId, Reason, TalkId};
use tonic::{Request, Response, Status};

use crate::service::{Caller, NewTalk, Talks};

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

/// The caller, write options and talk of the writes that name only a talk.
fn talk_write(
    request: TalkWrite,
) -> Result<(crate::service::Caller, Option<WriteOptions>, TalkId), ApiError> {
    let TalkWrite {
        caller,
        options,
        talk_id: id,
    } = request;
    Ok((Caller::from_wire(caller.as_ref())?, options, talk_id(&id)?))
}

#[tonic::async_trait]
impl TalkService for TalkApi {
    async fn create_talk(
        &self,
        request: Request<CreateTalkRequest>,
    ) -> Result<Response<CreateTalkResponse>, Status> {
        handle("CreateTalk", request, |r| async move {
            let CreateTalkRequest {
                caller,
                options,
                r#type,
                name,
                detail,
                participants,
            } = r;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("GetTalk", request, |r| async move {
            let TalkRef {
                caller,
                talk_id: id,
            } = r;
            self.talks
                .get(Caller::from_wire(caller.as_ref())?, talk_id(&id)?)
                .await
        })
        .await
    }

    async fn list_talks(
        &self,
        request: Request<ListTalksRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        handle("ListTalks", request, |r| async move {
            let ListTalksRequest { caller, page } = r;
            self.talks
                .list_mine(Caller::from_wire(caller.as_ref())?, page)
                .await
        })
        .await
    }

    async fn list_channels(
        &self,
        request: Request<ListTalksRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        handle("ListChannels", request, |r| async move {
            let ListTalksRequest { caller, page } = r;
            self.talks
                .list_channels(Caller::from_wire(caller.as_ref())?, page)
                .await
        })
        .await
    }

    async fn update_talk(
        &self,
        request: Request<UpdateTalkRequest>,
    ) -> Result<Response<Talk>, Status> {
        handle("UpdateTalk", request, |r| async move {
            let UpdateTalkRequest {
                caller,
                options,
                talk_id: id,
                name,
                detail,
            } = r;
            let caller = Caller::from_wire(caller.as_ref())?;
            let id = talk_id(&id)?;
            self.talks.update(caller, options, id, name, detail).await
        })
        .await
    }

    async fn delete_talk(&self, request: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        handle("DeleteTalk", request, |r| async move {
            let (caller, options, id) = talk_write(r)?;
            self.talks.delete(caller, options, id).await
        })
        .await
    }

    async fn close_talk(&self, request: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        handle("CloseTalk", request, |r| async move {
            let (caller, options, id) = talk_write(r)?;
            self.talks.close(caller, options, id).await
        })
        .await
    }

    async fn reopen_talk(&self, request: Request<TalkWrite>) -> Result<Response<Talk>, Status> {
        handle("ReopenTalk", request, |r| async move {
            let (caller, options, id) = talk_write(r)?;
            self.talks.reopen(caller, options, id).await
        })
        .await
    }

    async fn join_talk(
        &self,
        request: Request<TalkWrite>,
    ) -> Result<Response<Participant>, Status> {
        handle("JoinTalk", request, |r| async move {
            let (caller, options, id) = talk_write(r)?;
            self.talks.join(caller, options, id).await
        })
        .await
    }

    async fn leave_talk(
        &self,
        request: Request<TalkWrite>,
    ) -> Result<Response<Participant>, Status> {
        handle("LeaveTalk", request, |r| async move {
            let (caller, options, id) = talk_write(r)?;
            self.talks.leave(caller, options, id).await
        })
        .await
    }

    async fn add_participant(
        &self,
        request: Request<AddParticipantRequest>,
    ) -> Result<Response<Participant>, Status> {
        handle("AddParticipant", request, |r| async move {
            let AddParticipantRequest {
                caller,
                options,
                talk_id: id,
                participant,
            } = r;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("RemoveParticipant", request, |r| async move {
            let RemoveParticipantRequest {
                caller,
                options,
                talk_id: id,
                participant_id,
            } = r;
            let caller = Caller::from_wire(caller.as_ref())?;
            let id = talk_id(&id)?;
            let participant = ParticipantId::parse("participant_id", &participant_id)?;
            self.talks.remove(caller, options, id, participant).await
        })
        .await
    }

    async fn set_participant_role(
        &self,
        request: Request<SetParticipantRoleRequest>,
    ) -> Result<Response<Participant>, Status> {
        handle("SetParticipantRole", request, |r| async move {
            let SetParticipantRoleRequest {
                caller,
                options,
                talk_id: id,
                participant_id,
                role,
            } = r;
            let caller = Caller::from_wire(caller.as_ref())?;
            let id = talk_id(&id)?;
            let participant = ParticipantId::parse("participant_id", &participant_id)?;
            let role = parse::role(&role)?;
            self.talks
                .set_role(caller, options, id, participant, role)
                .await
        })
        .await
    }

    async fn list_participants(
        &self,
        request: Request<TalkRef>,
    ) -> Result<Response<ParticipantList>, Status> {
        handle("ListParticipants", request, |r| async move {
            let TalkRef {
                caller,
                talk_id: id,
            } = r;
            let participants = self
                .talks
                .list_participants(Caller::from_wire(caller.as_ref())?, talk_id(&id)?)
                .await?;
            Ok(ParticipantList { participants })
        })
        .await
    }

    async fn check_access_many(
        &self,
        request: Request<AccessQuery>,
    ) -> Result<Response<AccessAnswers>, Status> {
        handle("CheckAccessMany", request, |r| async move {
            let AccessQuery {
                talk_id: id,
                callers,
            } = r;
            let id = talk_id(&id)?;
            let callers = callers
                .into_iter()
                .map(|c| Caller::from_wire(Some(&c)))
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
        handle("CheckAccess", request, |r| async move {
            let TalkRef {
                caller,
                talk_id: id,
            } = r;
            self.talks
                .check_access(Caller::from_wire(caller.as_ref())?, talk_id(&id)?)
                .await
        })
        .await
    }

    async fn list_memberships(
        &self,
        request: Request<ListMembershipsRequest>,
    ) -> Result<Response<Memberships>, Status> {
        handle("ListMemberships", request, |r| async move {
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
