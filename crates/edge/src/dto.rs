//! JSON request bodies (edge-only) and their mapping to the internal protobuf
//! requests. Unknown fields are ignored; wrong JSON types are a 400 (see
//! `extract::JsonBody`); ids are checked for UUID syntax here, everything
//! else is the services' business.

use serde::{Deserialize, Serialize};
use talk_proto as pb;
use talk_types::{ApiError, Reason};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `POST /auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The refresh token of the last login or refresh; it works once.
    pub refresh_token: String,
}

/// Answer of `POST /auth/login` and `POST /auth/refresh` (the token is also
/// set as cookie `token`). VoIPBIN's answer is `{username, token}`; the rest
/// is Talk's.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginReply {
    /// Login name.
    pub username: String,
    /// The access token (HS256 JWT).
    pub token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Trade it for the next pair at `POST /auth/refresh`, once.
    pub refresh_token: String,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: u64,
}

impl From<pb::LoginResponse> for LoginReply {
    fn from(reply: pb::LoginResponse) -> Self {
        Self {
            username: reply.username,
            token: reply.token,
            expires_in: reply.expires_in,
            refresh_token: reply.refresh_token,
            refresh_expires_in: reply.refresh_expires_in,
        }
    }
}

/// `POST /v1.0/agents` (admins).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAgentBody {
    /// Login name.
    pub username: String,
    /// Password (8 to 256 characters). Absent or empty: an agent without a
    /// password (a bot), which never logs in and works with access keys.
    #[serde(default)]
    pub password: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Detail.
    #[serde(default)]
    pub detail: Option<String>,
    /// VoIPBIN permission bitmask (16 agent, 32 admin, 64 manager); default 16.
    #[serde(default)]
    pub permission: Option<u32>,
}

/// `PUT /v1.0/agents/{id}`: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateAgentBody {
    /// Display name.
    pub name: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// New password.
    pub password: Option<String>,
    /// Permission bitmask (admins only).
    pub permission: Option<u32>,
    /// VoIPBIN ring method: `ringall` or `linear`.
    pub ring_method: Option<String>,
}

/// `PUT /v1.0/service_agents/me`: VoIPBIN's body. Only the fields present
/// change (at least one); anything else in the body is ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateMeBody {
    /// Display name.
    pub name: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// VoIPBIN ring method: `ringall` or `linear`.
    pub ring_method: Option<String>,
}

/// A participant as VoIPBIN names it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ParticipantInput {
    /// Always `agent`.
    #[serde(default)]
    pub owner_type: Option<String>,
    /// The agent id.
    pub owner_id: String,
}

/// `POST /talks` and `POST /service_agents/talk_chats`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateTalkBody {
    /// `direct`, `group` or `talk`; omitted: two agents → direct, more → group.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Detail.
    #[serde(default)]
    pub detail: Option<String>,
    /// VoIPBIN: the other participants.
    #[serde(default)]
    pub participants: Option<Vec<ParticipantInput>>,
    /// Seed: the other participants' agent ids.
    #[serde(default)]
    pub participant_ids: Option<Vec<String>>,
}

/// `PUT /talks/{id}` and `PUT /service_agents/talk_chats/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateTalkBody {
    /// New name ("" clears it).
    #[serde(default)]
    pub name: Option<String>,
    /// New detail ("" clears it).
    #[serde(default)]
    pub detail: Option<String>,
}

/// `PUT /service_agents/me/password`: VoIPBIN's `{"password"}` plus the
/// current one, which Talk requires.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PasswordBody {
    /// The new password.
    #[serde(default)]
    pub password: String,
    /// The current password.
    #[serde(default)]
    pub current_password: String,
}

/// `PUT /talks/{id}/participants/{participant_id}`: `{"role": "moderator" | "member"}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SetRoleBody {
    /// The new role.
    pub role: String,
}

/// Adds a participant: `{agent_id}` (seed) or `{owner_type, owner_id}` (VoIPBIN).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AddParticipantBody {
    /// Seed: the agent to add.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// VoIPBIN: always `agent`.
    #[serde(default)]
    pub owner_type: Option<String>,
    /// VoIPBIN: the agent to add.
    #[serde(default)]
    pub owner_id: Option<String>,
}

/// VoIPBIN address inside a media.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AddressBody {
    /// Address type (`tel`, `email`, ...).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Target.
    #[serde(default)]
    pub target: Option<String>,
    /// Target name.
    #[serde(default)]
    pub target_name: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Detail.
    #[serde(default)]
    pub detail: Option<String>,
}

/// A media attachment: the seed's `{type: <mime>, url, name}` or VoIPBIN's
/// `{type: file|link|agent|address, file_id | link_url | agent_id | address}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MediaBody {
    /// Mime type (seed) or `file|link|agent|address` (VoIPBIN).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Seed: where the media is (http/https).
    #[serde(default)]
    pub url: Option<String>,
    /// Seed: file name.
    #[serde(default)]
    pub name: Option<String>,
    /// VoIPBIN `file`.
    #[serde(default)]
    pub file_id: Option<String>,
    /// VoIPBIN `link`.
    #[serde(default)]
    pub link_url: Option<String>,
    /// VoIPBIN `agent`.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// VoIPBIN `address`.
    #[serde(default)]
    pub address: Option<AddressBody>,
}

/// `POST /talks/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PostMessageBody {
    /// Text (may be "" when medias are given).
    pub text: String,
    /// `normal` (default); `system` is refused for agents.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Thread parent (a message of the same talk).
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Attachments.
    #[serde(default)]
    pub medias: Option<Vec<MediaBody>>,
}

/// `POST /service_agents/talk_messages`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatMessageBody {
    /// The talk.
    pub chat_id: String,
    /// The rest, as for `POST /talks/{id}/messages`.
    #[serde(flatten)]
    pub message: PostMessageBody,
}

/// `PUT /messages/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditMessageBody {
    /// The new text.
    pub text: String,
}

/// `POST …/reactions` (and VoIPBIN-path `DELETE …/reactions`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReactionBody {
    /// A Unicode emoji or a `:short_name:`.
    pub emoji: String,
}

/// `POST /talks/{id}/read`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadBody {
    /// The seq of the newest message the caller has read.
    pub seq: u64,
}

fn uuid(field: &str, value: &str) -> Result<String, ApiError> {
    Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::invalid_id(field))
}

/// An optional UUID field; "" and the nil UUID (VoIPBIN's placeholder) mean "none".
fn optional_uuid(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => {
            let id = Uuid::parse_str(raw).map_err(|_| ApiError::invalid_id(field))?;
            Ok((!id.is_nil()).then(|| id.to_string()))
        }
    }
}

fn participant(
    owner_type: Option<String>,
    field: &str,
    owner_id: &str,
) -> Result<pb::ParticipantRef, ApiError> {
    let owner_type = owner_type
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "agent".into());
    if owner_type != "agent" {
        return Err(ApiError::of(
            Reason::InvalidOwnerType,
            format!("The owner_type \"{owner_type}\" is not supported; use \"agent\"."),
        ));
    }
    Ok(pb::ParticipantRef {
        owner_type,
        owner_id: uuid(field, owner_id)?,
    })
}

impl CreateTalkBody {
    /// The participants named in either shape.
    pub fn participant_refs(&mut self) -> Result<Vec<pb::ParticipantRef>, ApiError> {
        let mut refs = Vec::new();
        for p in self.participants.take().unwrap_or_default() {
            refs.push(participant(p.owner_type, "owner_id", &p.owner_id)?);
        }
        for id in self.participant_ids.take().unwrap_or_default() {
            refs.push(participant(None, "participant_ids", &id)?);
        }
        Ok(refs)
    }
}

impl AddParticipantBody {
    /// The participant to add.
    pub fn participant_ref(self) -> Result<pb::ParticipantRef, ApiError> {
        match (self.agent_id, self.owner_id) {
            (Some(agent_id), _) => participant(self.owner_type, "agent_id", &agent_id),
            (None, Some(owner_id)) => participant(self.owner_type, "owner_id", &owner_id),
            (None, None) => Err(ApiError::of(
                Reason::MissingField,
                "The body needs \"owner_id\" (with \"owner_type\") or \"agent_id\".",
            )),
        }
    }
}

impl MediaBody {
    /// Into the internal media, checking UUID syntax.
    pub fn into_proto(self) -> Result<pb::Media, ApiError> {
        let Self {
            kind,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address,
        } = self;
        let address = address.and_then(|a| {
            let AddressBody {
                kind,
                target,
                target_name,
                name,
                detail,
            } = a;
            let address = pb::Address {
                r#type: kind.unwrap_or_default(),
                target: target.unwrap_or_default(),
                target_name: target_name.unwrap_or_default(),
                name: name.unwrap_or_default(),
                detail: detail.unwrap_or_default(),
            };
            (address != pb::Address::default()).then_some(address)
        });
        Ok(pb::Media {
            r#type: kind.unwrap_or_default(),
            url: url.filter(|u| !u.is_empty()),
            name: name.filter(|n| !n.is_empty()),
            file_id: optional_uuid("file_id", file_id)?,
            link_url: link_url.filter(|u| !u.is_empty()),
            agent_id: optional_uuid("agent_id", agent_id)?,
            address,
            file: None,
        })
    }
}

impl PostMessageBody {
    /// The internal request to post into `talk_id`.
    pub fn into_request(
        self,
        options: pb::WriteOptions,
        talk_id: String,
    ) -> Result<pb::PostMessageRequest, ApiError> {
        let Self {
            text,
            kind,
            parent_id,
            medias,
        } = self;
        let parent_id = optional_uuid("parent_id", parent_id)?;
        let medias = medias
            .unwrap_or_default()
            .into_iter()
            .map(MediaBody::into_proto)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pb::PostMessageRequest {
            options: Some(options),
            talk_id,
            r#type: kind
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "normal".into()),
            text,
            parent_id,
            medias,
        })
    }
}

impl ChatMessageBody {
    /// The talk id, checked.
    pub fn chat_id(&self) -> Result<String, ApiError> {
        uuid("chat_id", &self.chat_id)
    }
}
