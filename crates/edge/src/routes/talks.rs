//! Talks ("chats"): VoIPBIN's `/service_agents/talk_chats…` and
//! `talk_channels`, and the seed's `/talks…` with close, reopen, leave and read.

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri};
use serde::Deserialize;
use talk_auth::Identity;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{ApiError, Reason, TalkId};
use talk_wire::{Page, Participant, ReadState, Talk};

use super::openapi::{ParticipantDoc, ReadStateDoc, TalkDoc, TalkPageDoc};
use super::{Registry, doc};
use crate::AppState;
use crate::dto::{CreateTalkBody, ReadBody, UpdateTalkBody};
use crate::error::HttpError;
use crate::extract::{Auth, Id, JsonBody, Pagination, Write};

/// Registers the talk routes of both families.
pub fn register(registry: Registry) -> Registry {
    let tag = "talks";
    let chats = "/v1.0/service_agents/talk_chats";
    let chat = "/v1.0/service_agents/talk_chats/{id}";
    let get_doc = || doc(tag, "Get a talk").ok::<TalkDoc>(200);
    let update_doc = || {
        doc(tag, "Update name and/or detail")
            .body::<UpdateTalkBody>()
            .ok::<TalkDoc>(200)
    };
    let delete_doc = || doc(tag, "Soft-delete a talk").ok::<TalkDoc>(200);
    let list_doc = || {
        doc(tag, "List the caller's talks with unread_count")
            .paged()
            .ok::<TalkPageDoc>(200)
    };
    registry
        .add(Method::GET, chats, list, list_doc())
        .add(
            Method::POST,
            chats,
            create::<false>,
            doc(tag, "Create a talk (200, VoIPBIN)")
                .body::<CreateTalkBody>()
                .ok::<TalkDoc>(200),
        )
        .add(Method::GET, chat, get, get_doc())
        .add(Method::PUT, chat, update, update_doc())
        .add(Method::DELETE, chat, delete, delete_doc())
        .add(
            Method::POST,
            "/v1.0/service_agents/talk_chats/{id}/join",
            join,
            doc(tag, "Join a public talk").ok::<ParticipantDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/service_agents/talk_channels",
            channels,
            doc(tag, "List the customer's public talks")
                .paged()
                .ok::<TalkPageDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/talks",
            list_by_status,
            doc(tag, "List the caller's talks of a state with unread_count")
                .paged()
                .query(
                    "status",
                    false,
                    "open (the default; also active), closed or all.",
                )
                .ok::<TalkPageDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/talks",
            create::<true>,
            doc(
                tag,
                "Create a talk (201; 200 when an existing direct talk is returned)",
            )
            .body::<CreateTalkBody>()
            .ok::<TalkDoc>(201),
        )
        .add(Method::GET, "/v1.0/talks/{id}", get, get_doc())
        .add(Method::PUT, "/v1.0/talks/{id}", update, update_doc())
        .add(Method::DELETE, "/v1.0/talks/{id}", delete, delete_doc())
        .add(
            Method::POST,
            "/v1.0/talks/{id}/close",
            close,
            doc(tag, "Close a talk").ok::<TalkDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/talks/{id}/reopen",
            reopen,
            doc(tag, "Reopen a closed talk").ok::<TalkDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/talks/{id}/join",
            join,
            doc(tag, "Join a public talk").ok::<ParticipantDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/talks/{id}/leave",
            leave,
            doc(tag, "Leave a talk").ok::<ParticipantDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/talks/{id}/read",
            read,
            doc(tag, "Record how far the caller has read")
                .body::<ReadBody>()
                .ok::<ReadStateDoc>(200),
        )
}

/// Talks with the caller's `unread_count` from message-service. A failure
/// there is logged and leaves the counts at 0: the listing still works.
pub(crate) async fn with_unread(
    state: &AppState,
    me: &Identity,
    talks: Vec<pb::Talk>,
) -> Vec<Talk> {
    let mut talks = talks;
    if !talks.is_empty() {
        let ids = talks.iter().map(|t| t.id.clone()).collect();
        let counts = state
            .clients
            .messages
            .clone()
            .unread_counts(acting(
                me.caller(),
                pb::UnreadCountsRequest { talk_ids: ids },
            ))
            .await;
        match counts {
            Ok(counts) => {
                for read in counts.into_inner().states {
                    if let Some(talk) = talks.iter_mut().find(|t| t.id == read.talk_id) {
                        talk.unread_count = read.unread_count;
                        talk.last_seq = talk.last_seq.max(read.last_seq);
                    }
                }
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), error = %status.message(), "unread counts unavailable");
            }
        }
    }
    let mut talks: Vec<Talk> = talks.into_iter().map(Talk::from).collect();
    super::search::with_mention_counts(state, me, &mut talks).await;
    talks
}

fn page(talks: Vec<Talk>, next_page_token: String) -> Json<Page<Talk>> {
    Json(Page {
        result: talks,
        next_page_token,
    })
}

fn talk_write(
    me: &Identity,
    options: pb::WriteOptions,
    id: TalkId,
) -> tonic::Request<pb::TalkWrite> {
    acting(
        me.caller(),
        pb::TalkWrite {
            options: Some(options),
            talk_id: id.to_string(),
        },
    )
}

/// The `?status=` of a talk listing.
#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

/// `GET /talks`: the caller's talks in the state `?status=` names, `open`
/// when absent (closed and archived talks are hidden unless asked for);
/// talk-service refuses other values with 400.
pub async fn list_by_status(
    State(state): State<AppState>,
    Auth(me): Auth,
    Pagination(paging): Pagination,
    uri: Uri,
) -> Result<Json<Page<Talk>>, HttpError> {
    let Ok(Query(StatusQuery { status })) = Query::try_from_uri(&uri) else {
        return Err(ApiError::of(
            Reason::InvalidRequestParameter,
            "The parameter \"status\" has an invalid format.",
        )
        .into());
    };
    let status = status
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "open".to_owned());
    let reply = state
        .clients
        .archive
        .clone()
        .list_talks_by_status(acting(
            me.caller(),
            pb::ListTalksByStatusRequest {
                page: Some(paging),
                status,
            },
        ))
        .await?
        .into_inner();
    let talks = with_unread(&state, &me, reply.talks).await;
    Ok(page(talks, reply.next_page_token))
}

/// `GET /service_agents/talk_chats`: every talk the caller is in, open or
/// closed, as VoIPBIN (which has no closed talks) lists them.
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    Pagination(paging): Pagination,
) -> Result<Json<Page<Talk>>, HttpError> {
    let reply = state
        .clients
        .talks
        .clone()
        .list_talks(acting(
            me.caller(),
            pb::ListTalksRequest { page: Some(paging) },
        ))
        .await?
        .into_inner();
    let talks = with_unread(&state, &me, reply.talks).await;
    Ok(page(talks, reply.next_page_token))
}

/// The ids of the talks the caller is an active participant of. Asked by
/// the edge itself (`ListMemberships` serves Talk's own services) for the
/// agent its verified token names. A failure is logged and names none.
async fn joined_talks(state: &AppState, me: &Identity) -> HashSet<String> {
    let request = talk_runtime::grpc::request(pb::ListMembershipsRequest {
        agent_id: me.agent.id.to_string(),
        customer_id: me.agent.customer_id.to_string(),
    });
    match state.clients.talks.clone().list_memberships(request).await {
        Ok(memberships) => memberships.into_inner().talk_ids.into_iter().collect(),
        Err(status) => {
            tracing::warn!(code = ?status.code(), error = %status.message(), "memberships unavailable");
            HashSet::new()
        }
    }
}

/// `GET /service_agents/talk_channels`: the customer's public talks, with
/// the caller's `unread_count` ([`with_unread`]) in those it is in; 0 in
/// the others, whose messages are not the caller's to read.
pub async fn channels(
    State(state): State<AppState>,
    Auth(me): Auth,
    Pagination(paging): Pagination,
) -> Result<Json<Page<Talk>>, HttpError> {
    let reply = state
        .clients
        .talks
        .clone()
        .list_channels(acting(
            me.caller(),
            pb::ListTalksRequest { page: Some(paging) },
        ))
        .await?
        .into_inner();
    let joined = if reply.talks.is_empty() {
        HashSet::new()
    } else {
        joined_talks(&state, &me).await
    };
    let order: Vec<String> = reply.talks.iter().map(|t| t.id.clone()).collect();
    let (mine, others): (Vec<pb::Talk>, Vec<pb::Talk>) = reply
        .talks
        .into_iter()
        .partition(|t| joined.contains(&t.id));
    let mut talks: HashMap<String, Talk> = with_unread(&state, &me, mine)
        .await
        .into_iter()
        .chain(others.into_iter().map(Talk::from))
        .map(|t| (t.id.clone(), t))
        .collect();
    Ok(page(
        order.iter().filter_map(|id| talks.remove(id)).collect(),
        reply.next_page_token,
    ))
}

/// `POST /service_agents/talk_chats` (200) and `POST /talks` (`SEED`: 201 when created).
pub async fn create<const SEED: bool>(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    JsonBody(mut body): JsonBody<CreateTalkBody>,
) -> Result<(StatusCode, Json<Talk>), HttpError> {
    let participants = body.participant_refs()?;
    let CreateTalkBody {
        kind, name, detail, ..
    } = body;
    let reply = state
        .clients
        .talks
        .clone()
        .create_talk(acting(
            me.caller(),
            pb::CreateTalkRequest {
                options: Some(options),
                r#type: kind.unwrap_or_default(),
                name,
                detail,
                participants,
            },
        ))
        .await?
        .into_inner();
    let talk = reply
        .talk
        .ok_or_else(|| crate::error::broken("CreateTalk answered no talk"))?;
    let status = if SEED && reply.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(talk.into())))
}

/// `GET /service_agents/talk_chats/{id}`, `GET /talks/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<TalkId>,
) -> Result<Json<Talk>, HttpError> {
    let talk = state
        .clients
        .talks
        .clone()
        .get_talk(acting(
            me.caller(),
            pb::TalkRef {
                talk_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    let mut talks = with_unread(&state, &me, vec![talk]).await;
    talks
        .pop()
        .map(Json)
        .ok_or_else(|| crate::error::broken("a talk lost with its unread count"))
}

/// `PUT /service_agents/talk_chats/{id}`, `PUT /talks/{id}`.
pub async fn update(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
    JsonBody(body): JsonBody<UpdateTalkBody>,
) -> Result<Json<Talk>, HttpError> {
    let UpdateTalkBody { name, detail } = body;
    if name.is_none() && detail.is_none() {
        return Err(ApiError::of(
            Reason::MissingField,
            "The body needs \"name\" and/or \"detail\".",
        )
        .into());
    }
    let talk = state
        .clients
        .talks
        .clone()
        .update_talk(acting(
            me.caller(),
            pb::UpdateTalkRequest {
                options: Some(options),
                talk_id: id.to_string(),
                name,
                detail,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(talk.into()))
}

/// `DELETE /service_agents/talk_chats/{id}`, `DELETE /talks/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
) -> Result<Json<Talk>, HttpError> {
    let mut client = state.clients.talks.clone();
    let talk = client.delete_talk(talk_write(&me, options, id)).await?;
    Ok(Json(talk.into_inner().into()))
}

/// `POST /talks/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
) -> Result<Json<Talk>, HttpError> {
    let mut client = state.clients.talks.clone();
    let talk = client.close_talk(talk_write(&me, options, id)).await?;
    Ok(Json(talk.into_inner().into()))
}

/// `POST /talks/{id}/reopen`.
pub async fn reopen(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
) -> Result<Json<Talk>, HttpError> {
    let mut client = state.clients.talks.clone();
    let talk = client.reopen_talk(talk_write(&me, options, id)).await?;
    Ok(Json(talk.into_inner().into()))
}

/// `POST /service_agents/talk_chats/{id}/join`, `POST /talks/{id}/join`.
pub async fn join(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
) -> Result<Json<Participant>, HttpError> {
    let mut client = state.clients.talks.clone();
    let participant = client.join_talk(talk_write(&me, options, id)).await?;
    Ok(Json(participant.into_inner().into()))
}

/// `POST /talks/{id}/leave`.
pub async fn leave(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
) -> Result<Json<Participant>, HttpError> {
    let mut client = state.clients.talks.clone();
    let participant = client.leave_talk(talk_write(&me, options, id)).await?;
    Ok(Json(participant.into_inner().into()))
}

/// `POST /talks/{id}/read`.
pub async fn read(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
    JsonBody(body): JsonBody<ReadBody>,
) -> Result<Json<ReadState>, HttpError> {
    let state_reply = state
        .clients
        .messages
        .clone()
        .mark_read(acting(
            me.caller(),
            pb::MarkReadRequest {
                options: Some(options),
                talk_id: id.to_string(),
                seq: body.seq,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(state_reply.into()))
}
