//! Spec-only wrappers for the list envelopes; the shapes inside them are
//! `talk-wire`'s own types, which derive their schemas.
#![allow(dead_code)]

use talk_wire::{Agent, Edit, ErrorBody, ErrorResponse, Message, Talk};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

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

/// Adds the error schemas.
pub fn error_schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
    use utoipa::PartialSchema;
    out.push(("ErrorResponse".into(), ErrorResponse::schema()));
    out.push(("ErrorBody".into(), ErrorBody::schema()));
}
