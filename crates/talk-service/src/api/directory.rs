//! The gRPC `DirectoryService`: which talks the caller may read, and the
//! search of their names — extract, call the domain, map.

use talk_proto::directory_service_server::DirectoryService;
use talk_proto::{ReadableTalksRequest, ReadableTalksResponse, SearchTalksRequest, TalkPage};
use talk_runtime::grpc::handle_as;
use tonic::{Request, Response, Status};

use crate::service::{Caller, Talks};

/// The gRPC face of the directory in [`Talks`].
#[derive(Clone)]
pub struct DirectoryApi {
    talks: Talks,
}

impl DirectoryApi {
    /// Serves `talks`' directory over gRPC.
    pub fn new(talks: Talks) -> Self {
        Self { talks }
    }
}

#[tonic::async_trait]
impl DirectoryService for DirectoryApi {
    async fn readable_talks(
        &self,
        request: Request<ReadableTalksRequest>,
    ) -> Result<Response<ReadableTalksResponse>, Status> {
        handle_as("ReadableTalks", request, |caller: Caller, r| async move {
            let ReadableTalksRequest {} = r;
            let ids = self.talks.readable(&caller).await?;
            Ok(ReadableTalksResponse {
                talk_ids: ids.iter().map(ToString::to_string).collect(),
            })
        })
        .await
    }

    async fn search_talks(
        &self,
        request: Request<SearchTalksRequest>,
    ) -> Result<Response<TalkPage>, Status> {
        handle_as("SearchTalks", request, |caller: Caller, r| async move {
            let SearchTalksRequest {
                query,
                page_size,
                page_token,
            } = r;
            self.talks
                .search(&caller, &query, page_size, &page_token)
                .await
        })
        .await
    }
}
