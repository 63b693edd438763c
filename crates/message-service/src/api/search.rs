//! The gRPC `SearchService`: extract, call the search, map.

use talk_proto::search_service_server::SearchService;
use talk_proto::{
    ListMentionsRequest, MentionCountsRequest, MentionCountsResponse, MessagePage, SearchHits,
    SearchMessagesRequest,
};
use talk_runtime::grpc::handle_as;
use talk_types::{AgentId, ApiError, Reason, TalkId, time};
use tonic::{Request, Response, Status};

use crate::service::Caller;
use crate::service::search::{self, Search};

/// The gRPC server of the message search.
#[derive(Clone, Debug)]
pub struct SearchApi {
    search: Search,
}

impl SearchApi {
    /// Serves `search`.
    pub fn new(search: Search) -> Self {
        Self { search }
    }
}

/// A time filter in microseconds.
fn at(field: &str, micros: Option<i64>) -> Result<Option<time::Timestamp>, ApiError> {
    micros
        .map(|m| {
            time::from_micros(m).ok_or_else(|| {
                ApiError::of(
                    Reason::InvalidRequestParameter,
                    format!("The parameter \"{field}\" is not a valid time."),
                )
            })
        })
        .transpose()
}

#[tonic::async_trait]
impl SearchService for SearchApi {
    async fn search_messages(
        &self,
        request: Request<SearchMessagesRequest>,
    ) -> Result<Response<SearchHits>, Status> {
        handle_as("SearchMessages", request, |caller: Caller, r| async move {
            let SearchMessagesRequest {
                query,
                talk_id,
                author_id,
                before,
                after,
                has_file,
                in_thread,
                sort,
                page_size,
                page_token,
            } = r;
            let request = search::Request {
                query,
                talk: talk_id.map(|t| TalkId::parse("talk_id", &t)).transpose()?,
                author: author_id
                    .map(|a| AgentId::parse("author_id", &a))
                    .transpose()?,
                before: at("before", before)?,
                after: at("after", after)?,
                has_file,
                in_thread,
                sort,
                page_size,
                page_token,
            };
            self.search.messages(&caller, request).await
        })
        .await
    }

    async fn list_mentions(
        &self,
        request: Request<ListMentionsRequest>,
    ) -> Result<Response<MessagePage>, Status> {
        handle_as("ListMentions", request, |caller: Caller, r| async move {
            let ListMentionsRequest {
                page_size,
                page_token,
            } = r;
            self.search.mentions(&caller, page_size, &page_token).await
        })
        .await
    }

    async fn mention_counts(
        &self,
        request: Request<MentionCountsRequest>,
    ) -> Result<Response<MentionCountsResponse>, Status> {
        handle_as("MentionCounts", request, |caller: Caller, r| async move {
            let MentionCountsRequest { talk_ids } = r;
            if talk_ids.len() > MAX_TALKS {
                return Err(ApiError::of(
                    Reason::TooManyTalks,
                    "At most 1000 talk ids can be asked for at once.",
                ));
            }
            let talks = talk_ids
                .iter()
                .map(|t| TalkId::parse("talk_ids", t))
                .collect::<Result<Vec<_>, _>>()?;
            let counts = self.search.mention_counts(&caller, &talks).await?;
            Ok(MentionCountsResponse { counts })
        })
        .await
    }
}

/// Most talks one count request may name.
const MAX_TALKS: usize = 1000;
