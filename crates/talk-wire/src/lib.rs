//! The public JSON shapes of Talk — VoIPBIN-compatible field names, order and
//! omissions — and their conversions from the internal protobuf types. The
//! edge's REST responses and the push-gateway's WebSocket frames both use them,
//! so a resource looks the same wherever a client sees it; the edge's OpenAPI
//! spec describes them from the same types.

mod convert;
mod reactions;

pub use reactions::message_viewed_by;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A talk ("chat"). `type`, `name`, `detail` and `member_count` are omitted when
/// empty, as VoIPBIN does.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Talk {
    /// Talk id.
    pub id: String,
    /// Customer id.
    pub customer_id: String,
    /// `direct`, `group` or `talk`.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Detail.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Active participants.
    #[serde(skip_serializing_if = "is_zero")]
    pub member_count: u32,
    /// `active` or `closed`.
    pub state: String,
    /// The caller's unread messages (listings only).
    pub unread_count: u64,
    /// Unread messages that mention the caller (listings only).
    pub mention_count: u64,
    /// Seq of the talk's newest message.
    pub last_seq: u64,
    /// Created.
    pub tm_create: Option<String>,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted, or null.
    pub tm_delete: Option<String>,
}

/// A participant record.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Participant {
    /// Participant row id (what DELETE takes).
    pub id: String,
    /// Customer id.
    pub customer_id: String,
    /// Always `agent`.
    pub owner_type: String,
    /// The agent id.
    pub owner_id: String,
    /// The talk id.
    pub chat_id: String,
    /// `active` or `left`.
    pub state: String,
    /// `owner`, `moderator` or `member` (Talk's own; VoIPBIN has no roles).
    pub role: String,
    /// Joined.
    pub tm_joined: Option<String>,
    /// Left, or null.
    pub tm_left: Option<String>,
}

/// A media attachment as sent: the seed's `{type, url, name}` or VoIPBIN's
/// `{type, file_id | link_url | agent_id | address}`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Media {
    /// Mime type (seed) or `file|link|agent|address` (VoIPBIN).
    #[serde(rename = "type")]
    pub kind: String,
    /// Seed: where the media is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Seed: file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// VoIPBIN `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// VoIPBIN `link`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_url: Option<String>,
    /// VoIPBIN `agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// VoIPBIN `address`: `{type?, target?, target_name?, name?, detail?}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub address: Option<Value>,
    /// VoIPBIN `file`: the uploaded file as it was when the message was
    /// posted (Talk's addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<MediaFile>,
}

/// The file a `file` media names: what a client needs to show it without a
/// second call.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MediaFile {
    /// The sanitised file name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type sniffed from the bytes (else the declared one).
    pub mime_type: String,
    /// `GET` it with a token: 307 to a signed, expiring download URL.
    pub uri_download: String,
    /// The same for a thumbnail (images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_thumbnail: Option<String>,
}

/// One reaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// Always `agent`.
    pub owner_type: String,
    /// Who reacted.
    pub owner_id: String,
    /// When.
    pub tm_create: Option<String>,
}

/// How many agents reacted to a message with one emoji.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReactionCount {
    /// The emoji.
    pub emoji: String,
    /// Agents that reacted with it.
    pub count: u32,
    /// Whether the viewer (the caller of a REST request, the agent of a
    /// WebSocket) is one of them.
    pub me: bool,
}

/// A mention in a message's text: `@username` of a member of the talk, or
/// `@here` / `@all` (one entry per member it reaches, at the same place).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Mention {
    /// The agent mentioned.
    pub agent_id: String,
    /// `agent`, `here` or `all`.
    pub kind: String,
    /// First UTF-16 code unit of the mention in the text (the `@`).
    pub start: u32,
    /// One past its last.
    pub end: u32,
}

/// `metadata` of a message. Build it with [`Metadata::new`]: the counts are
/// derived from the reactions, never stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Metadata {
    /// Reactions in the order they were added.
    pub reactions: Vec<Reaction>,
    /// One entry per emoji, in the order each was first used.
    pub reaction_counts: Vec<ReactionCount>,
}

/// A message. `parent_id` is omitted for top-level messages, as VoIPBIN does;
/// `agent_id` is omitted for system messages.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Message {
    /// Message id.
    pub id: String,
    /// Customer id.
    pub customer_id: String,
    /// `agent` (`system` for close and reopen messages).
    pub owner_type: String,
    /// Author (the talk for close and reopen messages).
    pub owner_id: String,
    /// The agent who wrote it (the seed's field, `owner_id` again); absent on
    /// system messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Talk id.
    pub chat_id: String,
    /// Thread parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `normal` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text ("" once deleted).
    pub text: String,
    /// Attachments.
    pub medias: Vec<Media>,
    /// Reactions, and their counts per emoji.
    pub metadata: Metadata,
    /// The agents of the talk its text mentions, and where.
    pub mentions: Vec<Mention>,
    /// Per-talk sequence number.
    pub seq: u64,
    /// Per-talk sequence number of the last change (catch-up with `after_seq`).
    pub change_seq: u64,
    /// Replies in its thread.
    pub reply_count: u32,
    /// Created.
    pub tm_create: Option<String>,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted, or null.
    pub tm_delete: Option<String>,
}

/// An agent: VoIPBIN's `AgentManagerAgent` in its key order, never with a
/// password or its hash. Talk has no tags, call addresses or SIP direct
/// hash, so `tag_ids` and `addresses` are always `[]` and `direct_hash` is
/// `""` — present, as VoIPBIN always sends them.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Agent {
    /// Agent id.
    pub id: String,
    /// Customer id.
    pub customer_id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Detail.
    pub detail: String,
    /// VoIPBIN ring method.
    pub ring_method: String,
    /// VoIPBIN status.
    pub status: String,
    /// Permission bitmask.
    pub permission: u32,
    /// VoIPBIN tag ids (always empty).
    pub tag_ids: Vec<String>,
    /// VoIPBIN endpoint addresses (always empty).
    #[schema(value_type = Vec<Object>)]
    pub addresses: Vec<Value>,
    /// VoIPBIN SIP direct hash (always empty).
    pub direct_hash: String,
    /// Created.
    pub tm_create: Option<String>,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted, or null.
    pub tm_delete: Option<String>,
}

/// A previous version of an edited message.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Edit {
    /// The text before the edit.
    pub text: String,
    /// When it was replaced.
    pub tm_edit: Option<String>,
}

/// The caller's read position in a talk.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReadState {
    /// Talk id.
    pub chat_id: String,
    /// Last seq the caller has read.
    pub last_read_seq: u64,
    /// Seq of the newest message.
    pub last_seq: u64,
    /// Messages not read yet.
    pub unread_count: u64,
}

/// VoIPBIN's page envelope: `result` then `next_page_token`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items, newest first.
    pub result: Vec<T>,
    /// `tm_create` of the last item ("" for an empty page).
    pub next_page_token: String,
}

/// VoIPBIN's error body.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// Inside [`ErrorResponse`].
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `INVALID_ARGUMENT`, `NOT_FOUND`, ...
    #[schema(value_type = String)]
    pub status: &'static str,
    /// UPPER_SNAKE reason code.
    pub reason: String,
    /// What is wrong.
    pub message: String,
    /// The request's `X-Request-Id`.
    pub request_id: String,
}

impl ErrorResponse {
    /// The body for `error` answered to request `request_id`.
    pub fn new(error: &talk_types::ApiError, request_id: &str) -> Self {
        Self {
            error: ErrorBody {
                status: error.kind.status(),
                reason: error.reason.to_string(),
                message: error.message.clone(),
                request_id: request_id.to_owned(),
            },
        }
    }
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}
