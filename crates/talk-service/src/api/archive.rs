//! The gRPC `ArchiveService`: the customer's talk settings, the sweep of
//! inactive talks and the listing by state — extract, call the domain, map.

use talk_proto::archive_service_server::ArchiveService;
use talk_proto::{
    ArchiveInactiveRequest, ArchiveInactiveResponse, GetTalkSettingsRequest,
    ListTalksByStatusRequest, TalkPage, TalkSettings, UpdateTalkSettingsRequest,
};
use talk_runtime::grpc::{handle_as, handle_service};
use talk_types::{ApiError, Reason, time};
use tonic::{Request, Response, Status};

use super::parse;
use crate::service::{Caller, Talks};

/// The gRPC face of archiving in [`Talks`].
#[derive(Clone)]
pub struct ArchiveApi {
    talks: Talks,
}

impl ArchiveApi {
    /// Serves `talks`' archiving over gRPC.
    pub fn new(talks: Talks) -> Self {
        Self { talks }
    }
}

#[tonic::async_trait]
impl ArchiveService for ArchiveApi {
    async fn get_talk_settings(
        &self,
        request: Request<GetTalkSettingsRequest>,
    ) -> Result<Response<TalkSettings>, Status> {
        handle_as("GetTalkSettings", request, |caller: Caller, _| async move {
            self.talks.settings(&caller).await
        })
        .await
    }

    async fn update_talk_settings(
        &self,
        request: Request<UpdateTalkSettingsRequest>,
    ) -> Result<Response<TalkSettings>, Status> {
        handle_as(
            "UpdateTalkSettings",
            request,
            |caller: Caller, r| async move {
                let UpdateTalkSettingsRequest {
                    archive_inactive_days,
                } = r;
                self.talks
                    .update_settings(&caller, archive_inactive_days)
                    .await
            },
        )
        .await
    }

    async fn archive_inactive(
        &self,
        request: Request<ArchiveInactiveRequest>,
    ) -> Result<Response<ArchiveInactiveResponse>, Status> {
        handle_service("ArchiveInactive", request, |r| async move {
            let ArchiveInactiveRequest { now_micros } = r;
            let now = match now_micros {
                0 => time::now(),
                micros => time::from_micros(micros).ok_or_else(|| {
                    ApiError::of(
                        Reason::InvalidArgument,
                        "now_micros is not a time Talk can represent.",
                    )
                })?,
            };
            let closed = self.talks.archive_inactive(now).await?;
            Ok(ArchiveInactiveResponse {
                talk_ids: closed.iter().map(ToString::to_string).collect(),
            })
        })
        .await
    }

    async fn list_talks_by_status(
        &self,
        request: Request<ListTalksByStatusRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        handle_as(
            "ListTalksByStatus",
            request,
            |caller: Caller, r| async move {
                let ListTalksByStatusRequest { page, status } = r;
                let state = parse::status(&status)?;
                self.talks.list_mine_in(caller, page, state).await
            },
        )
        .await
    }
}
