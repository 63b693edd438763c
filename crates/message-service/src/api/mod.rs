//! The gRPC `MessageService`: extract, call the service, map.

mod parse;

use talk_proto::message_service_server::MessageService;
use talk_proto::{
    DeletedAmongRequest, DeletedAmongResponse, EditList, EditMessageRequest, ListChangesRequest,
    ListMessagesRequest, MarkReadRequest, Message, MessageList, MessagePage, MessageRef,
    MessageWrite, PostMessageRequest, ReactionRequest, ReadState, UnreadCountsRequest,
    UnreadCountsResponse, WriteOptions,
};
use talk_runtime::grpc::handle;
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
        handle("PostMessage", request, |req| async move {
            let PostMessageRequest {
                caller,
                options,
                talk_id,
                r#type,
                text,
                parent_id,
                medias,
            } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("GetMessage", request, |req| async move {
            let MessageRef { caller, message_id } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
            let id = parse::message_id("message_id", &message_id)?;
            self.messages.get(&caller, id).await
        })
        .await
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<MessagePage>, Status> {
        handle("ListMessages", request, |req| async move {
            let ListMessagesRequest {
                caller,
                talk_id,
                page,
            } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
            let talk = parse::talk_id(&talk_id)?;
            self.messages.list(&caller, talk, page.as_ref()).await
        })
        .await
    }

    async fn list_thread(
        &self,
        request: Request<MessageRef>,
    ) -> Result<Response<MessageList>, Status> {
        handle("ListThread", request, |req| async move {
            let MessageRef { caller, message_id } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("ListHistory", request, |req| async move {
            let MessageRef { caller, message_id } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("EditMessage", request, |req| async move {
            let EditMessageRequest {
                caller,
                options,
                message_id,
                text,
            } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("DeleteMessage", request, |req| async move {
            let MessageWrite {
                caller,
                options,
                message_id,
            } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
            let id = parse::message_id("message_id", &message_id)?;
            self.messages.delete(&caller, options.as_ref(), id).await
        })
        .await
    }

    async fn add_reaction(
        &self,
        request: Request<ReactionRequest>,
    ) -> Result<Response<Message>, Status> {
        handle("AddReaction", request, |req| async move {
            let (caller, options, id, emoji) = reaction(req)?;
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
        handle("RemoveReaction", request, |req| async move {
            let (caller, options, id, emoji) = reaction(req)?;
            self.messages
                .remove_reaction(&caller, options.as_ref(), id, emoji)
                .await
        })
        .await
    }

    async fn mark_read(
        &self,
        request: Request<MarkReadRequest>,
    ) -> Result<Response<ReadState>, Status> {
        handle("MarkRead", request, |req| async move {
            let MarkReadRequest {
                caller,
                options,
                talk_id,
                seq,
            } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("ListChanges", request, |req| async move {
            let ListChangesRequest {
                caller,
                talk_id,
                after_seq,
                limit,
            } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("UnreadCounts", request, |req| async move {
            let UnreadCountsRequest { caller, talk_ids } = req;
            let caller = Caller::from_wire(caller.as_ref())?;
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
        handle("DeletedAmong", request, |req| async move {
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

/// The caller, write options, message and emoji of a reaction request.
fn reaction(
    request: ReactionRequest,
) -> Result<(Caller, Option<WriteOptions>, MessageId, String), ApiError> {
    let ReactionRequest {
        caller,
        options,
        message_id,
        emoji,
    } = request;
    let caller = Caller::from_wire(caller.as_ref())?;
    let id = parse::message_id("message_id", &message_id)?;
    Ok((caller, options, id, emoji))
}
