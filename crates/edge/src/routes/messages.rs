//! Messages: VoIPBIN's `/service_agents/talk_messages…` and the seed's
//! `/talks/{id}/messages` and `/messages/{id}…` (edit, thread, history,
//! reactions, catch-up with `after_seq`).

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use talk_auth::Identity;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{MessageId, TalkId};
use talk_wire::{Edit, Message, Page};

use super::openapi::{EditListDoc, MessageDoc, MessageListDoc, MessagePageDoc};
use super::{Registry, doc};
use crate::AppState;
use crate::dto::{ChatMessageBody, EditMessageBody, PostMessageBody, ReactionBody};
use crate::error::HttpError;
use crate::extract::{AfterSeq, Auth, ChatIdQuery, Id, JsonBody, MessageEmoji, Pagination, Write};

/// `{"result": [...]}`: thread, history and `after_seq` listings.
#[derive(Debug, Serialize)]
pub struct Listing<T> {
    /// The items, oldest first.
    pub result: Vec<T>,
}

/// Registers the message routes of both families.
pub fn register(registry: Registry) -> Registry {
    let tag = "messages";
    let get_doc = || doc(tag, "Get a message").ok::<MessageDoc>(200);
    let delete_doc = || doc(tag, "Delete a message (author; soft delete)").ok::<MessageDoc>(200);
    let react_doc = || {
        doc(tag, "Add a reaction")
            .body::<ReactionBody>()
            .ok::<MessageDoc>(200)
    };
    registry
        .add(
            Method::GET,
            "/v1.0/service_agents/talk_messages",
            list_chat,
            doc(tag, "List a talk's messages, newest first")
                .query("chat_id", true, "The talk.")
                .paged()
                .ok::<MessagePageDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            post_chat,
            doc(tag, "Post a message (200, VoIPBIN)")
                .body::<ChatMessageBody>()
                .ok::<MessageDoc>(200),
        )
        .add(Method::GET, "/v1.0/service_agents/talk_messages/{id}", get, get_doc())
        .add(Method::DELETE, "/v1.0/service_agents/talk_messages/{id}", delete, delete_doc())
        .add(Method::POST, "/v1.0/service_agents/talk_messages/{id}/reactions", react, react_doc())
        .add(
            Method::DELETE,
            "/v1.0/service_agents/talk_messages/{id}/reactions",
            unreact_body,
            doc(tag, "Remove the caller's reaction (extension)")
                .body::<ReactionBody>()
                .ok::<MessageDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/talks/{id}/messages",
            list_talk,
            doc(tag, "List a talk's messages, newest first; with after_seq: {result} of every change after it")
                .paged()
                .query("after_seq", false, "Catch-up: changes after this seq, in change order.")
                .ok::<MessagePageDoc>(200),
        )
        .add(
            Method::POST,
            "/v1.0/talks/{id}/messages",
            post_talk,
            doc(tag, "Post a message (201)").body::<PostMessageBody>().ok::<MessageDoc>(201),
        )
        .add(Method::GET, "/v1.0/messages/{id}", get, get_doc())
        .add(
            Method::PUT,
            "/v1.0/messages/{id}",
            edit,
            doc(tag, "Edit a message (author)").body::<EditMessageBody>().ok::<MessageDoc>(200),
        )
        .add(Method::DELETE, "/v1.0/messages/{id}", delete, delete_doc())
        .add(
            Method::GET,
            "/v1.0/messages/{id}/thread",
            thread,
            doc(tag, "A message and its replies, in order").ok::<MessageListDoc>(200),
        )
        .add(
            Method::GET,
            "/v1.0/messages/{id}/history",
            history,
            doc(tag, "Previous texts of an edited message").ok::<EditListDoc>(200),
        )
        .add(Method::POST, "/v1.0/messages/{id}/reactions", react, react_doc())
        .add(
            Method::DELETE,
            "/v1.0/messages/{id}/reactions/{emoji}",
            unreact_path,
            doc(tag, "Remove the caller's reaction").ok::<MessageDoc>(200),
        )
}

/// `message` as the caller sees it: `me` set on its reaction counts.
fn shown(me: &Identity, message: pb::Message) -> Message {
    Message::from(message).viewed_by(&me.agent.id.to_string())
}

fn message_ref(me: &Identity, id: MessageId) -> tonic::Request<pb::MessageRef> {
    acting(
        me.caller(),
        pb::MessageRef {
            message_id: id.to_string(),
        },
    )
}

async fn page(
    state: &AppState,
    me: &Identity,
    talk: TalkId,
    paging: pb::PageRequest,
) -> Result<Json<Page<Message>>, HttpError> {
    let reply = state
        .clients
        .messages
        .clone()
        .list_messages(acting(
            me.caller(),
            pb::ListMessagesRequest {
                talk_id: talk.to_string(),
                page: Some(paging),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Page {
        result: reply.messages.into_iter().map(|m| shown(me, m)).collect(),
        next_page_token: reply.next_page_token,
    }))
}

/// `GET /service_agents/talk_messages?chat_id=`.
pub async fn list_chat(
    State(state): State<AppState>,
    Auth(me): Auth,
    ChatIdQuery(talk): ChatIdQuery,
    Pagination(paging): Pagination,
) -> Result<Json<Page<Message>>, HttpError> {
    page(&state, &me, talk, paging).await
}

/// `GET /talks/{id}/messages[?after_seq=N]`.
pub async fn list_talk(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(talk): Id<TalkId>,
    AfterSeq(after_seq): AfterSeq,
    Pagination(paging): Pagination,
) -> Result<Response, HttpError> {
    let Some(after_seq) = after_seq else {
        return Ok(page(&state, &me, talk, paging).await?.into_response());
    };
    let changes = state
        .clients
        .messages
        .clone()
        .list_changes(acting(
            me.caller(),
            pb::ListChangesRequest {
                talk_id: talk.to_string(),
                after_seq,
                limit: 0,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Listing {
        result: changes
            .messages
            .into_iter()
            .map(|m| shown(&me, m))
            .collect::<Vec<_>>(),
    })
    .into_response())
}

async fn post(
    state: &AppState,
    me: &Identity,
    options: pb::WriteOptions,
    talk: String,
    body: PostMessageBody,
) -> Result<Message, HttpError> {
    let posted = state
        .clients
        .messages
        .clone()
        .post_message(acting(me.caller(), body.into_request(options, talk)?))
        .await?
        .into_inner();
    Ok(shown(me, posted))
}

/// `POST /service_agents/talk_messages` (200).
pub async fn post_chat(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    JsonBody(body): JsonBody<ChatMessageBody>,
) -> Result<Json<Message>, HttpError> {
    let talk = body.chat_id()?;
    Ok(Json(post(&state, &me, options, talk, body.message).await?))
}

/// `POST /talks/{id}/messages` (201).
pub async fn post_talk(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(talk): Id<TalkId>,
    JsonBody(body): JsonBody<PostMessageBody>,
) -> Result<(StatusCode, Json<Message>), HttpError> {
    let posted = post(&state, &me, options, talk.to_string(), body).await?;
    Ok((StatusCode::CREATED, Json(posted)))
}

/// `GET /messages/{id}`, `GET /service_agents/talk_messages/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<MessageId>,
) -> Result<Json<Message>, HttpError> {
    let mut client = state.clients.messages.clone();
    let message = client.get_message(message_ref(&me, id)).await?;
    Ok(Json(shown(&me, message.into_inner())))
}

/// `PUT /messages/{id}`.
pub async fn edit(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<MessageId>,
    JsonBody(body): JsonBody<EditMessageBody>,
) -> Result<Json<Message>, HttpError> {
    let edited = state
        .clients
        .messages
        .clone()
        .edit_message(acting(
            me.caller(),
            pb::EditMessageRequest {
                options: Some(options),
                message_id: id.to_string(),
                text: body.text,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(shown(&me, edited)))
}

/// `DELETE /messages/{id}`, `DELETE /service_agents/talk_messages/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<MessageId>,
) -> Result<Json<Message>, HttpError> {
    let deleted = state
        .clients
        .messages
        .clone()
        .delete_message(acting(
            me.caller(),
            pb::MessageWrite {
                options: Some(options),
                message_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(shown(&me, deleted)))
}

/// `GET /messages/{id}/thread`.
pub async fn thread(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<MessageId>,
) -> Result<Json<Listing<Message>>, HttpError> {
    let mut client = state.clients.messages.clone();
    let list = client.list_thread(message_ref(&me, id)).await?;
    Ok(Json(Listing {
        result: list
            .into_inner()
            .messages
            .into_iter()
            .map(|m| shown(&me, m))
            .collect(),
    }))
}

/// `GET /messages/{id}/history`.
pub async fn history(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<MessageId>,
) -> Result<Json<Listing<Edit>>, HttpError> {
    let mut client = state.clients.messages.clone();
    let list = client.list_history(message_ref(&me, id)).await?;
    Ok(Json(Listing {
        result: list
            .into_inner()
            .edits
            .into_iter()
            .map(Edit::from)
            .collect(),
    }))
}

async fn reaction(
    state: &AppState,
    me: &Identity,
    options: pb::WriteOptions,
    id: MessageId,
    emoji: String,
    add: bool,
) -> Result<Json<Message>, HttpError> {
    let req = pb::ReactionRequest {
        options: Some(options),
        message_id: id.to_string(),
        emoji,
    };
    let mut client = state.clients.messages.clone();
    let message = if add {
        client.add_reaction(acting(me.caller(), req)).await?
    } else {
        client.remove_reaction(acting(me.caller(), req)).await?
    };
    Ok(Json(shown(me, message.into_inner())))
}

/// `POST …/reactions {emoji}`.
pub async fn react(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<MessageId>,
    JsonBody(body): JsonBody<ReactionBody>,
) -> Result<Json<Message>, HttpError> {
    reaction(&state, &me, options, id, body.emoji, true).await
}

/// `DELETE /service_agents/talk_messages/{id}/reactions {emoji}` (our extension).
pub async fn unreact_body(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<MessageId>,
    JsonBody(body): JsonBody<ReactionBody>,
) -> Result<Json<Message>, HttpError> {
    reaction(&state, &me, options, id, body.emoji, false).await
}

/// `DELETE /messages/{id}/reactions/{emoji}` (the emoji URL-encoded).
pub async fn unreact_path(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    MessageEmoji(id, emoji): MessageEmoji,
) -> Result<Json<Message>, HttpError> {
    reaction(&state, &me, options, id, emoji, false).await
}
