//! Read state across devices and read receipts: VoIPBIN's path for
//! recording how far one has read (the seed's is `POST
//! /v1.0/talks/{id}/read`, same handler), and who has read a message.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde::Serialize;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::MessageId;
use utoipa::ToSchema;

use super::openapi::ReadStateDoc;
use super::{Registry, doc, talks};
use crate::AppState;
use crate::dto::ReadBody;
use crate::error::HttpError;
use crate::extract::{Auth, Id};

/// Registers the read routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "read state";
    registry
        .add(
            Method::POST,
            "/v1.0/service_agents/talk_chats/{id}/read",
            talks::read,
            doc(tag, "Record how far the caller has read (VoIPBIN path)")
                .body::<ReadBody>()
                .ok::<ReadStateDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/messages/{id}/receipts",
            receipts,
            doc(tag, "Who has read a message (its author aside)").ok::<ReceiptList>(200),
        )
        .add(
            Method::GET,
            "/v1.0/service_agents/talk_messages/{id}/receipts",
            receipts,
            doc(tag, "Who has read a message (VoIPBIN path)").ok::<ReceiptList>(200),
        )
}

/// One reader of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    /// The reader.
    pub agent_id: String,
    /// How far it has read the talk (at least the message's seq).
    pub last_read_seq: u64,
}

/// Who has read a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptList {
    /// The message.
    pub message_id: String,
    /// Its talk.
    pub chat_id: String,
    /// Its seq.
    pub seq: u64,
    /// Every agent whose read position reached it, by agent id.
    pub result: Vec<Receipt>,
}

/// `GET /v1.0/messages/{id}/receipts`.
pub async fn receipts(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<MessageId>,
) -> Result<Json<ReceiptList>, HttpError> {
    let pb::Receipts {
        message_id,
        chat_id,
        seq,
        receipts,
    } = state
        .clients
        .receipts
        .clone()
        .list_receipts(acting(
            me.caller(),
            pb::ReceiptsRequest {
                message_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    let result = receipts
        .into_iter()
        .map(
            |pb::Receipt {
                 agent_id,
                 last_read_seq,
             }| Receipt {
                agent_id,
                last_read_seq,
            },
        )
        .collect();
    Ok(Json(ReceiptList {
        message_id,
        chat_id,
        seq,
        result,
    }))
}
