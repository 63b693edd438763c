//! Schemas of the response shapes of `talk-wire`, for the spec only (the
//! serialised types themselves live in `talk-wire`). Timestamps are
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ` or null.
#![allow(dead_code)]

use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

/// A talk ("chat"). `type`, `name`, `detail`, `member_count` are omitted when empty.
#[derive(ToSchema)]
pub struct Talk {
    id: String,
    customer_id: String,
    /// `direct`, `group` or `talk`.
    #[schema(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    detail: Option<String>,
    member_count: Option<u32>,
    /// `active` or `closed`.
    state: String,
    /// The caller's unread messages.
    unread_count: u64,
    last_seq: u64,
    tm_create: Option<String>,
    tm_update: Option<String>,
    tm_delete: Option<String>,
}

/// A participant record; `id` is what DELETE takes, `owner_id` the agent.
#[derive(ToSchema)]
pub struct Participant {
    id: String,
    customer_id: String,
    owner_type: String,
    owner_id: String,
    chat_id: String,
    /// `active` or `left`.
    state: String,
    tm_joined: Option<String>,
    tm_left: Option<String>,
}

/// A VoIPBIN address.
#[derive(ToSchema)]
pub struct Address {
    #[schema(rename = "type")]
    kind: Option<String>,
    target: Option<String>,
    target_name: Option<String>,
    name: Option<String>,
    detail: Option<String>,
}

/// A media: seed `{type: <mime>, url, name}` or VoIPBIN `{type: file|link|agent|address, …}`.
#[derive(ToSchema)]
pub struct Media {
    #[schema(rename = "type")]
    kind: String,
    url: Option<String>,
    name: Option<String>,
    file_id: Option<String>,
    link_url: Option<String>,
    agent_id: Option<String>,
    address: Option<Address>,
}

/// One reaction.
#[derive(ToSchema)]
pub struct Reaction {
    emoji: String,
    owner_type: String,
    owner_id: String,
    tm_create: Option<String>,
}

/// `metadata` of a message.
#[derive(ToSchema)]
pub struct Metadata {
    reactions: Vec<Reaction>,
}

/// A message; `parent_id` is omitted for top-level messages.
#[derive(ToSchema)]
pub struct Message {
    id: String,
    customer_id: String,
    owner_type: String,
    owner_id: String,
    chat_id: String,
    parent_id: Option<String>,
    /// `normal` or `system`.
    #[schema(rename = "type")]
    kind: String,
    text: String,
    medias: Vec<Media>,
    metadata: Metadata,
    seq: u64,
    change_seq: u64,
    reply_count: u32,
    tm_create: Option<String>,
    tm_update: Option<String>,
    tm_delete: Option<String>,
}

/// An agent (never its password).
#[derive(ToSchema)]
pub struct Agent {
    id: String,
    customer_id: String,
    username: String,
    name: String,
    detail: String,
    ring_method: String,
    status: String,
    permission: u32,
    tm_create: Option<String>,
    tm_update: Option<String>,
    tm_delete: Option<String>,
}

/// One earlier text of an edited message.
#[derive(ToSchema)]
pub struct Edit {
    text: String,
    tm_edit: Option<String>,
}

/// The caller's read position in a talk.
#[derive(ToSchema)]
pub struct ReadState {
    chat_id: String,
    last_read_seq: u64,
    last_seq: u64,
    unread_count: u64,
}

/// A page of talks, newest first.
#[derive(ToSchema)]
pub struct TalkPage {
    result: Vec<Talk>,
    /// `tm_create` of the last item ("" for an empty page).
    next_page_token: String,
}

/// A page of messages, newest first.
#[derive(ToSchema)]
pub struct MessagePage {
    result: Vec<Message>,
    next_page_token: String,
}

/// A page of agents.
#[derive(ToSchema)]
pub struct AgentPage {
    result: Vec<Agent>,
    next_page_token: String,
}

/// A list of messages, oldest first.
#[derive(ToSchema)]
pub struct MessageList {
    result: Vec<Message>,
}

/// An edit history, oldest first.
#[derive(ToSchema)]
pub struct EditList {
    result: Vec<Edit>,
}

/// VoIPBIN's error body.
#[derive(ToSchema)]
pub struct ErrorResponse {
    error: ErrorBody,
}

/// Inside `ErrorResponse`.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// `INVALID_ARGUMENT`, `UNAUTHENTICATED`, `NOT_FOUND`, ...
    status: String,
    /// UPPER_SNAKE reason code.
    reason: String,
    message: String,
    /// The response's `X-Request-Id`.
    request_id: String,
}

/// Adds the error schemas.
pub fn error_schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
    use utoipa::PartialSchema;
    out.push(("ErrorResponse".into(), ErrorResponse::schema()));
    out.push(("ErrorBody".into(), ErrorBody::schema()));
}
