//! The gRPC `MessageService`: extract, call the service, map.

mod parse;
mod receipts;
mod search;

pub use receipts::ReceiptApi;
pub use search::SearchApi;

use talk_proto::message_service_server::MessageService;
use talk_proto::{
    DeletedAmongRequest, DeletedAmongResponse, EditList, EditMessageRequest, ListChangesRequest,
    ListMessagesRequest, MarkReadRequest, Message, MessageList, MessagePage, MessageRef,
    MessageWrite, PostMessageRequest, ReactionRequest, ReadState, UnreadCountsRequest,
    UnreadCountsResponse, WriteOptions,
};
use talk_runtime::grpc::{handle_as, handle_service};
use talk_types::{ApiError, CustomerId, MessageId};
use tonic::{Request, Response, Status};

use crate::service::{Caller, Messages, NewMessage};

/// The gRPC server of message-service.
#[derive(Clone, Debug)]
pub struct MessageApi {
    messages: Messages,
}

impl MessageApi {
    /// Serves `messages`.
    pub fn new(messages: Messages) -> Self {
        Self { messages }
    }
}

#[tonic::async_trait]
impl MessageService for MessageApi {
    async fn post_message(
        &self,
        request: Request<PostMessageRequest>,
    ) -> Result<Response<Message>, Status> {
        handle_as("PostMessage", request, |caller: Caller, req| async move {
            let PostMessageRequest {
                options,
                talk_id,
                r#type,
                text,
                parent_id,
                medias,
            } = req;
            let new = NewMessage {
                talk: parse::talk_id(&talk_id)?,
                kind: r#type,
                text,
                parent: parse::parent_id(parent_id)?,
                medias,
            };
            self.messages.post(&caller, options.as_ref(), new).await
        })
        .await
    }

    async fn get_message(&self, request: Request<MessageRef>) -> Result<Response<Message>, Status> {
        handle_as("GetMessage", request, |caller: Caller, req| async move {
            let MessageRef { message_id } = req;
            let id = parse::message_id("message_id", &message_id)?;
            self.messages.get(&caller, id).await
        })
        .await
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<MessagePage>, Status> {
        handle_as("ListMessages", request, |caller: Caller, req| async move {
            let ListMessagesRequest { talk_id, page } = req;
            let talk = parse::talk_id(&talk_id)?;
            self.messages.list(&caller, talk, page.as_ref()).await
        })
        .await
    }

    async fn list_thread(
        &self,
        request: Request<MessageRef>,
    ) -> Result<Response<MessageList>, Status> {
        handle_as("ListThread", request, |caller: Caller, req| async move {
            let MessageRef { message_id } = req;
            let id = parse::message_id("message_id", &message_id)?;
            let messages = self.messages.thread(&caller, id).await?;
            Ok(MessageList { messages })
        })
        .await
    }

    async fn list_history(
        &self,
        request: Request<MessageRef>,
    ) -> Result<Response<EditList>, Status> {
        handle_as("ListHistory", request, |caller: Caller, req| async move {
            let MessageRef { message_id } = req;
            let id = parse::message_id("message_id", &message_id)?;
            let edits = self.messages.history(&caller, id).await?;
            Ok(EditList { edits })
        })
        .await
    }

    async fn edit_message(
        &self,
        request: Request<EditMessageRequest>,
    ) -> Result<Response<Message>, Status> {
        handle_as("EditMessage", request, |caller: Caller, req| async move {
            let EditMessageRequest {
                options,
                message_id,
                text,
            } = req;
            let id = parse::message_id("message_id", &message_id)?;
            self.messages
                .edit(&caller, options.as_ref(), id, text)
                .await
        })
        .await
    }

    async fn delete_message(
        &self,
        request: Request<MessageWrite>,
    ) -> Result<Response<Message>, Status> {
        handle_as("DeleteMessage", request, |caller: Caller, req| async move {
            let MessageWrite {
                options,
                message_id,
            } = req;
            let id = parse::message_id("message_id", &message_id)?;
            self.messages.delete(&caller, options.as_ref(), id).await
        })
        .await
    }

    async fn add_reaction(
        &self,
        request: Request<ReactionRequest>,
    ) -> Result<Response<Message>, Status> {
        handle_as("AddReaction", request, |caller: Caller, req| async move {
            let (options, id, emoji) = reaction(req)?;
            self.messages
                .add_reaction(&caller, options.as_ref(), id, emoji)
                .await
        })
        .await
    }

    async fn remove_reaction(
        &self,
        request: Request<ReactionRequest>,
    ) -> Result<Response<Message>, Status> {
        handle_as(
            "RemoveReaction",
            request,
            |caller: Caller, req| async move {
                let (options, id, emoji) = reaction(req)?;
                self.messages
                    .remove_reaction(&caller, options.as_ref(), id, emoji)
                    .await
            },
        )
        .await
    }

    async fn mark_read(
        &self,
        request: Request<MarkReadRequest>,
    ) -> Result<Response<ReadState>, Status> {
        handle_as("MarkRead", request, |caller: Caller, req| async move {
            let MarkReadRequest {
                options,
                talk_id,
                seq,
            } = req;
            let talk = parse::talk_id(&talk_id)?;
            self.messages
                .mark_read(&caller, options.as_ref(), talk, seq)
                .await
        })
        .await
    }

    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<MessageList>, Status> {
        handle_as("ListChanges", request, |caller: Caller, req| async move {
            let ListChangesRequest {
                talk_id,
                after_seq,
                limit,
            } = req;
            let talk = parse::talk_id(&talk_id)?;
            let messages = self
                .messages
                .changes(&caller, talk, after_seq, limit)
                .await?;
            Ok(MessageList { messages })
        })
        .await
    }

    async fn unread_counts(
        &self,
        request: Request<UnreadCountsRequest>,
    ) -> Result<Response<UnreadCountsResponse>, Status> {
        handle_as("UnreadCounts", request, |caller: Caller, req| async move {
            let UnreadCountsRequest { talk_ids } = req;
            let talks = parse::talk_ids(&talk_ids)?;
            let states = self.messages.unread_counts(&caller, &talks).await?;
            Ok(UnreadCountsResponse { states })
        })
        .await
    }

    async fn deleted_among(
        &self,
        request: Request<DeletedAmongRequest>,
    ) -> Result<Response<DeletedAmongResponse>, Status> {
        handle_service("DeletedAmong", request, |req| async move {
            let DeletedAmongRequest {
                customer_id,
                message_ids,
            } = req;
            let customer = CustomerId::parse("customer_id", &customer_id)?;
            let ids = message_ids
                .iter()
                .map(|id| MessageId::parse("message_ids", id))
                .collect::<Result<Vec<_>, _>>()?;
            let deleted = self.messages.deleted_among(customer, &ids).await?;
            Ok(DeletedAmongResponse {
                message_ids: deleted.iter().map(|(id, _)| id.to_string()).collect(),
                tm_delete: deleted
                    .iter()
                    .map(|(_, at)| talk_types::time::to_micros(at))
                    .collect(),
            })
        })
        .await
    }
}

/// The write options, message and emoji of a reaction request.
fn reaction(
    request: ReactionRequest,
) -> Result<(Option<WriteOptions>, MessageId, String), ApiError> {
    let ReactionRequest {
        options,
        message_id,
        emoji,
    } = request;
    let id = parse::message_id("message_id", &message_id)?;
    Ok((options, id, emoji))
}
