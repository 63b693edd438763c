//! The gRPC `PushService`: operational control of one gateway instance.

use std::sync::Arc;

use prometheus::core::Collector;
use talk_proto::push_service_server::PushService;
use talk_proto::{DisconnectAgentRequest, DisconnectAgentResponse, StatsRequest, StatsResponse};
use talk_runtime::grpc::handle_service;
use talk_types::AgentId;
use tonic::{Request, Response, Status};

use crate::queue::close;
use crate::routing::Hub;

/// The gRPC face of the gateway's routing table.
pub(crate) struct PushApi {
    pub(crate) hub: Arc<Hub>,
}

/// The sum of a counter family over its labels.
fn total(counter: &prometheus::IntCounterVec) -> u64 {
    counter
        .collect()
        .iter()
        .flat_map(|family| family.get_metric())
        .map(|metric| metric.get_counter().get_value() as u64)
        .sum()
}

#[tonic::async_trait]
impl PushService for PushApi {
    async fn stats(
        &self,
        request: Request<StatsRequest>,
    ) -> Result<Response<StatsResponse>, Status> {
        handle_service("PushService/Stats", request, |StatsRequest {}| async {
            let stats = self.hub.stats();
            Ok(StatsResponse {
                connections: stats.connections as u64,
                delivered: total(&talk_telemetry::metrics::WS_DELIVERIES),
                dropped: total(&talk_telemetry::metrics::WS_DROPS),
                last_cursor: stats.position,
                watched_talks: stats.watched_talks as u64,
                bus_messages: stats.received,
            })
        })
        .await
    }

    async fn disconnect_agent(
        &self,
        request: Request<DisconnectAgentRequest>,
    ) -> Result<Response<DisconnectAgentResponse>, Status> {
        handle_service(
            "PushService/DisconnectAgent",
            request,
            |DisconnectAgentRequest { agent_id }| async move {
                let agent = AgentId::parse("agent_id", &agent_id)?;
                let closed = self.hub.close_agent(
                    agent,
                    close::UNAUTHENTICATED,
                    "disconnected by an administrator, sign in again",
                );
                Ok(DisconnectAgentResponse {
                    closed: u32::try_from(closed).unwrap_or(u32::MAX),
                })
            },
        )
        .await
    }
}
