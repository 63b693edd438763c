//! Participants of a talk, in both families. VoIPBIN's DELETE answers the
//! literal `null`; the seed's answers the participant, now `left`.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use talk_auth::Identity;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{ParticipantId, TalkId};
use talk_wire::Participant;

use super::openapi::ParticipantDoc;
use super::{Registry, doc};
use crate::AppState;
use crate::dto::{AddParticipantBody, SetRoleBody};
use crate::error::HttpError;
use crate::extract::{Auth, Id, IdPair, JsonBody, Write};

/// Registers the participant routes of both families.
pub fn register(registry: Registry) -> Registry {
    let tag = "participants";
    let list_doc = || doc(tag, "List a talk's participants (bare array)").array::<ParticipantDoc>();
    registry
        .add(
            Method::GET,
            "/v1.0/service_agents/talk_chats/{id}/participants",
            list,
            list_doc(),
        )
        .add(
            Method::POST,
            "/v1.0/service_agents/talk_chats/{id}/participants",
            add::<false>,
            doc(tag, "Add a participant (200, VoIPBIN)")
                .body::<AddParticipantBody>()
                .ok::<ParticipantDoc>(200),
        )
        .add(
            Method::DELETE,
            "/v1.0/service_agents/talk_chats/{id}/participants/{participant_id}",
            remove_voipbin,
            doc(tag, "Remove a participant (answers null, as VoIPBIN)"),
        )
        .add(
            Method::GET,
            "/v1.0/talks/{id}/participants",
            list,
            list_doc(),
        )
        .add(
            Method::POST,
            "/v1.0/talks/{id}/participants",
            add::<true>,
            doc(tag, "Add a participant (201)")
                .body::<AddParticipantBody>()
                .ok::<ParticipantDoc>(201),
        )
        .add(
            Method::DELETE,
            "/v1.0/talks/{id}/participants/{participant_id}",
            remove_seed,
            doc(tag, "Remove a participant (answers it, now left)").ok::<ParticipantDoc>(200),
        )
        .add(
            Method::PUT,
            "/v1.0/talks/{id}/participants/{participant_id}",
            set_role,
            doc(
                tag,
                "Make a participant a moderator or a member (owners and admins)",
            )
            .body::<SetRoleBody>()
            .ok::<ParticipantDoc>(200),
        )
}

/// `GET …/participants`.
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<TalkId>,
) -> Result<Json<Vec<Participant>>, HttpError> {
    let list = state
        .clients
        .talks
        .clone()
        .list_participants(acting(
            me.caller(),
            pb::TalkRef {
                talk_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(
        list.participants
            .into_iter()
            .map(Participant::from)
            .collect(),
    ))
}

/// `POST …/participants` (`SEED`: 201).
pub async fn add<const SEED: bool>(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<TalkId>,
    JsonBody(body): JsonBody<AddParticipantBody>,
) -> Result<(StatusCode, Json<Participant>), HttpError> {
    let participant = body.participant_ref()?;
    let added = state
        .clients
        .talks
        .clone()
        .add_participant(acting(
            me.caller(),
            pb::AddParticipantRequest {
                options: Some(options),
                talk_id: id.to_string(),
                participant: Some(participant),
            },
        ))
        .await?
        .into_inner();
    let status = if SEED {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(added.into())))
}

async fn remove(
    state: &AppState,
    me: &Identity,
    options: pb::WriteOptions,
    talk: TalkId,
    participant: ParticipantId,
) -> Result<pb::Participant, HttpError> {
    Ok(state
        .clients
        .talks
        .clone()
        .remove_participant(acting(
            me.caller(),
            pb::RemoveParticipantRequest {
                options: Some(options),
                talk_id: talk.to_string(),
                participant_id: participant.to_string(),
            },
        ))
        .await?
        .into_inner())
}

/// `DELETE /service_agents/talk_chats/{id}/participants/{participant_id}` → `null`.
pub async fn remove_voipbin(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    IdPair(talk, participant): IdPair<TalkId, ParticipantId>,
) -> Result<Json<serde_json::Value>, HttpError> {
    remove(&state, &me, options, talk, participant).await?;
    Ok(Json(serde_json::Value::Null))
}

/// `DELETE /talks/{id}/participants/{participant_id}` → the participant.
pub async fn remove_seed(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    IdPair(talk, participant): IdPair<TalkId, ParticipantId>,
) -> Result<Json<Participant>, HttpError> {
    let removed = remove(&state, &me, options, talk, participant).await?;
    Ok(Json(removed.into()))
}

/// `PUT /talks/{id}/participants/{participant_id}` → the participant.
pub async fn set_role(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    IdPair(talk, participant): IdPair<TalkId, ParticipantId>,
    JsonBody(body): JsonBody<SetRoleBody>,
) -> Result<Json<Participant>, HttpError> {
    let changed = state
        .clients
        .talks
        .clone()
        .set_participant_role(acting(
            me.caller(),
            pb::SetParticipantRoleRequest {
                options: Some(options),
                talk_id: talk.to_string(),
                participant_id: participant.to_string(),
                role: body.role,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(changed.into()))
}
