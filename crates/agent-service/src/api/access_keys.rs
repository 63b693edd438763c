//! The gRPC `AccessKeyService`: extract, call the service, map.

use talk_proto::access_key_service_server::AccessKeyService;
use talk_proto::{
    AccessKey, AccessKeyPage, AccessKeyRef, AccessKeyStatesRequest, AccessKeyStatesResponse,
    AccessKeyWrite, CreateAccessKeyRequest, ListAccessKeysRequest, UpdateAccessKeyRequest,
    VerifiedAccessKey, VerifyAccessKeyRequest,
};
use talk_runtime::grpc::{handle_as, handle_service};
use talk_types::{AgentId, ApiError};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::service::{Agents, Caller, NewAccessKey};
use crate::wire;

/// The gRPC server of access keys.
#[derive(Clone, Debug)]
pub struct AccessKeyApi {
    agents: Agents,
}

impl AccessKeyApi {
    /// Serves `agents`' access keys.
    pub fn new(agents: Agents) -> Self {
        Self { agents }
    }
}

/// A key id from the request: empty is MISSING_FIELD, not a UUID is INVALID_ID.
fn key_id(value: &str) -> Result<Uuid, ApiError> {
    if value.is_empty() {
        return Err(crate::service::validate::missing("access_key_id"));
    }
    Uuid::parse_str(value).map_err(|_| ApiError::invalid_id("access_key_id"))
}

#[tonic::async_trait]
impl AccessKeyService for AccessKeyApi {
    async fn create_access_key(
        &self,
        request: Request<CreateAccessKeyRequest>,
    ) -> Result<Response<AccessKey>, Status> {
        handle_as(
            "CreateAccessKey",
            request,
            |caller: Caller, req| async move {
                let CreateAccessKeyRequest {
                    options,
                    agent_id,
                    name,
                    detail,
                    expire_secs,
                    tm_expire,
                } = req;
                let agent_id = if agent_id.is_empty() {
                    None
                } else {
                    Some(AgentId::parse("agent_id", &agent_id)?)
                };
                let new = NewAccessKey {
                    agent_id,
                    name,
                    detail,
                    expire_secs,
                    tm_expire,
                };
                self.agents
                    .create_access_key(&caller, options.as_ref(), new)
                    .await
            },
        )
        .await
    }

    async fn get_access_key(
        &self,
        request: Request<AccessKeyRef>,
    ) -> Result<Response<AccessKey>, Status> {
        handle_as("GetAccessKey", request, |caller: Caller, req| async move {
            let AccessKeyRef { access_key_id } = req;
            let row = self
                .agents
                .get_access_key(&caller, key_id(&access_key_id)?)
                .await?;
            Ok(wire::access_key(&row, String::new()))
        })
        .await
    }

    async fn list_access_keys(
        &self,
        request: Request<ListAccessKeysRequest>,
    ) -> Result<Response<AccessKeyPage>, Status> {
        handle_as(
            "ListAccessKeys",
            request,
            |caller: Caller, req| async move {
                let ListAccessKeysRequest { page } = req;
                let talk_proto::PageRequest {
                    page_size,
                    page_token,
                } = page.unwrap_or_default();
                let page = self
                    .agents
                    .list_access_keys(&caller, page_size, &page_token)
                    .await?;
                Ok(AccessKeyPage {
                    access_keys: page
                        .keys
                        .iter()
                        .map(|row| wire::access_key(row, String::new()))
                        .collect(),
                    next_page_token: page.next_page_token,
                })
            },
        )
        .await
    }

    async fn update_access_key(
        &self,
        request: Request<UpdateAccessKeyRequest>,
    ) -> Result<Response<AccessKey>, Status> {
        handle_as(
            "UpdateAccessKey",
            request,
            |caller: Caller, req| async move {
                let UpdateAccessKeyRequest {
                    options,
                    access_key_id,
                    name,
                    detail,
                } = req;
                let row = self
                    .agents
                    .update_access_key(
                        &caller,
                        options.as_ref(),
                        key_id(&access_key_id)?,
                        name,
                        detail,
                    )
                    .await?;
                Ok(wire::access_key(&row, String::new()))
            },
        )
        .await
    }

    async fn delete_access_key(
        &self,
        request: Request<AccessKeyWrite>,
    ) -> Result<Response<AccessKey>, Status> {
        handle_as(
            "DeleteAccessKey",
            request,
            |caller: Caller, req| async move {
                let AccessKeyWrite {
                    options,
                    access_key_id,
                } = req;
                let row = self
                    .agents
                    .delete_access_key(&caller, options.as_ref(), key_id(&access_key_id)?)
                    .await?;
                Ok(wire::access_key(&row, String::new()))
            },
        )
        .await
    }

    async fn verify_access_key(
        &self,
        request: Request<VerifyAccessKeyRequest>,
    ) -> Result<Response<VerifiedAccessKey>, Status> {
        handle_service("VerifyAccessKey", request, |req| async move {
            let VerifyAccessKeyRequest { token } = req;
            let (key, agent) = self.agents.verify_access_key(&token).await?;
            Ok(VerifiedAccessKey {
                access_key_id: key.id.to_string(),
                agent: Some(wire::agent(&agent)),
                token_version: u64::try_from(agent.token_version).unwrap_or(0),
                tm_expire: key
                    .tm_expire
                    .as_ref()
                    .map_or(0, talk_types::time::to_micros),
            })
        })
        .await
    }

    async fn access_key_states(
        &self,
        request: Request<AccessKeyStatesRequest>,
    ) -> Result<Response<AccessKeyStatesResponse>, Status> {
        handle_service("AccessKeyStates", request, |req| async move {
            let ids = req
                .access_key_ids
                .iter()
                .map(|id| Uuid::parse_str(id).map_err(|_| ApiError::invalid_id("access_key_ids")))
                .collect::<Result<Vec<_>, _>>()?;
            let states = self.agents.access_key_states(&ids).await?;
            Ok(AccessKeyStatesResponse { states })
        })
        .await
    }
}
