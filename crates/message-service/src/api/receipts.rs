//! The gRPC `ReceiptService`: who has read a message — extract, call, map.

use talk_proto::receipt_service_server::ReceiptService;
use talk_proto::{Receipts, ReceiptsRequest};
use talk_runtime::grpc::handle_as;
use talk_types::MessageId;
use tonic::{Request, Response, Status};

use crate::service::{Caller, Messages};

/// The gRPC face of read receipts in [`Messages`].
#[derive(Clone)]
pub struct ReceiptApi {
    messages: Messages,
}

impl ReceiptApi {
    /// Serves `messages`' receipts.
    pub fn new(messages: Messages) -> Self {
        Self { messages }
    }
}

#[tonic::async_trait]
impl ReceiptService for ReceiptApi {
    async fn list_receipts(
        &self,
        request: Request<ReceiptsRequest>,
    ) -> Result<Response<Receipts>, Status> {
        handle_as("ListReceipts", request, |caller: Caller, r| async move {
            let ReceiptsRequest { message_id } = r;
            let id = MessageId::parse("message_id", &message_id)?;
            self.messages.receipts(&caller, id).await
        })
        .await
    }
}
