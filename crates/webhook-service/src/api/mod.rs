//! The gRPC `WebhookService`: extract, call the domain, map.

use talk_auth::Caller;
use talk_proto::webhook_service_server::WebhookService;
use talk_proto::{
    CreateWebhookRequest, GetWebhookRequest, ListWebhookDeliveriesRequest, ListWebhooksRequest,
    ReplayWebhookRequest, ReplayWebhookResponse, UpdateWebhookRequest, Webhook, WebhookDelivery,
    WebhookDeliveryPage, WebhookPage, WebhookWrite,
};
use talk_runtime::grpc::handle_as;
use tonic::{Request, Response, Status};

use crate::service::Webhooks;
use crate::service::manage::Definition;

/// The gRPC face of [`Webhooks`].
#[derive(Clone)]
pub struct WebhookApi {
    webhooks: Webhooks,
}

impl WebhookApi {
    /// Serves `webhooks` over gRPC.
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook(
        &self,
        request: Request<CreateWebhookRequest>,
    ) -> Result<Response<Webhook>, Status> {
        handle_as("CreateWebhook", request, |caller: Caller, r| async move {
            let CreateWebhookRequest {
                url,
                description,
                event_types,
                talk_ids,
                naming,
                agent_id,
                ordered,
                options,
            } = r;
            let definition = Definition {
                url,
                description,
                event_types,
                talk_ids,
                naming,
                ordered,
            };
            self.webhooks
                .create(&caller, definition, &agent_id, options.as_ref())
                .await
        })
        .await
    }

    async fn list_webhooks(
        &self,
        request: Request<ListWebhooksRequest>,
    ) -> Result<Response<WebhookPage>, Status> {
        handle_as("ListWebhooks", request, |caller: Caller, r| async move {
            let ListWebhooksRequest { page: _ } = r;
            let webhooks = self.webhooks.list(&caller).await?;
            Ok(WebhookPage { webhooks })
        })
        .await
    }

    async fn get_webhook(
        &self,
        request: Request<GetWebhookRequest>,
    ) -> Result<Response<Webhook>, Status> {
        handle_as("GetWebhook", request, |caller: Caller, r| async move {
            let GetWebhookRequest { id } = r;
            self.webhooks.get(&caller, &id).await
        })
        .await
    }

    async fn update_webhook(
        &self,
        request: Request<UpdateWebhookRequest>,
    ) -> Result<Response<Webhook>, Status> {
        handle_as("UpdateWebhook", request, |caller: Caller, r| async move {
            let UpdateWebhookRequest {
                id,
                url,
                description,
                event_types,
                talk_ids,
                naming,
                enabled,
                ordered,
                options,
            } = r;
            let definition = Definition {
                url,
                description,
                event_types,
                talk_ids,
                naming,
                ordered,
            };
            self.webhooks
                .update(&caller, &id, definition, enabled, options.as_ref())
                .await
        })
        .await
    }

    async fn delete_webhook(
        &self,
        request: Request<WebhookWrite>,
    ) -> Result<Response<Webhook>, Status> {
        handle_as("DeleteWebhook", request, |caller: Caller, r| async move {
            let WebhookWrite { id, options } = r;
            self.webhooks.delete(&caller, &id, options.as_ref()).await
        })
        .await
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<WebhookWrite>,
    ) -> Result<Response<Webhook>, Status> {
        handle_as(
            "RotateWebhookSecret",
            request,
            |caller: Caller, r| async move {
                let WebhookWrite { id, options } = r;
                self.webhooks.rotate(&caller, &id, options.as_ref()).await
            },
        )
        .await
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<ListWebhookDeliveriesRequest>,
    ) -> Result<Response<WebhookDeliveryPage>, Status> {
        handle_as(
            "ListWebhookDeliveries",
            request,
            |caller: Caller, r| async move {
                let ListWebhookDeliveriesRequest {
                    webhook_id,
                    page_size,
                    page_token,
                } = r;
                self.webhooks
                    .deliveries(&caller, &webhook_id, page_size, &page_token)
                    .await
            },
        )
        .await
    }

    async fn replay_webhook(
        &self,
        request: Request<ReplayWebhookRequest>,
    ) -> Result<Response<ReplayWebhookResponse>, Status> {
        handle_as("ReplayWebhook", request, |caller: Caller, r| async move {
            let ReplayWebhookRequest {
                webhook_id,
                after_seq,
                since_micros,
                options,
            } = r;
            self.webhooks
                .replay(
                    &caller,
                    &webhook_id,
                    after_seq,
                    since_micros,
                    options.as_ref(),
                )
                .await
        })
        .await
    }

    async fn test_webhook(
        &self,
        request: Request<WebhookWrite>,
    ) -> Result<Response<WebhookDelivery>, Status> {
        handle_as("TestWebhook", request, |caller: Caller, r| async move {
            let WebhookWrite { id, options } = r;
            self.webhooks.test(&caller, &id, options.as_ref()).await
        })
        .await
    }
}
