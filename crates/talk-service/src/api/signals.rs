//! The gRPC `SignalService`: typing from REST and an agent's new status,
//! checked by talk-service and published as ephemeral signals on the bus.

use std::sync::Arc;

use talk_events::signal::{TYPING_TTL, TypingState};
use talk_events::{Bus, SignalKind};
use talk_proto::signal_service_server::SignalService;
use talk_proto::{
    AnnounceStatusAnswer, AnnounceStatusRequest, Signal, TypingAnswer, TypingRequest,
};
use talk_runtime::grpc::handle_as;
use talk_types::{ApiError, Reason, TalkId, time};
use tonic::{Request, Response, Status};

use crate::service::{Caller, Talks};

/// The gRPC face of the signals: [`Talks`] says who may, the bus carries them.
#[derive(Clone)]
pub struct SignalApi {
    talks: Talks,
    bus: Arc<dyn Bus>,
}

impl SignalApi {
    /// Checks with `talks`, publishes on `bus`.
    pub fn new(talks: Talks, bus: Arc<dyn Bus>) -> Self {
        Self { talks, bus }
    }

    async fn publish(&self, signal: Signal) -> Result<(), ApiError> {
        self.bus.signal(&signal).await.map_err(|e| {
            tracing::warn!(kind = %signal.kind, error = %e, "signal not published");
            ApiError::unavailable("the bus")
        })
    }
}

fn signal(caller: &Caller, kind: SignalKind, talks: Vec<TalkId>, state: &str) -> Signal {
    Signal {
        kind: kind.name().to_owned(),
        customer_id: caller.customer_id.to_string(),
        agent_id: caller.agent_id.to_string(),
        talk_ids: talks.iter().map(ToString::to_string).collect(),
        state: state.to_owned(),
        data: String::new(),
        occurred_at: time::to_micros(&time::now()),
    }
}

#[tonic::async_trait]
impl SignalService for SignalApi {
    async fn send_typing(
        &self,
        request: Request<TypingRequest>,
    ) -> Result<Response<TypingAnswer>, Status> {
        handle_as("SendTyping", request, |caller: Caller, r| async move {
            let TypingRequest { talk_id, state } = r;
            let talk = TalkId::parse("talk_id", &talk_id)?;
            let state = TypingState::from_name(&state).ok_or_else(|| {
                ApiError::of(Reason::InvalidArgument, TypingState::refusal(&state))
            })?;
            self.talks.may_type(&caller, talk).await?;
            let signal = signal(&caller, SignalKind::Typing, vec![talk], state.name());
            self.publish(signal).await?;
            let expires_in_ms = match state {
                TypingState::Stopped => 0,
                TypingState::Typing | TypingState::Working => {
                    u32::try_from(TYPING_TTL.as_millis()).unwrap_or(u32::MAX)
                }
            };
            Ok(TypingAnswer { expires_in_ms })
        })
        .await
    }

    async fn announce_status(
        &self,
        request: Request<AnnounceStatusRequest>,
    ) -> Result<Response<AnnounceStatusAnswer>, Status> {
        handle_as("AnnounceStatus", request, |caller: Caller, r| async move {
            let AnnounceStatusRequest { agent, status } = r;
            let talks = self
                .talks
                .talks_of(caller.agent_id, caller.customer_id)
                .await?;
            let count = u32::try_from(talks.len()).unwrap_or(u32::MAX);
            let mut signal = signal(&caller, SignalKind::AgentStatus, talks, &status);
            signal.data = agent;
            self.publish(signal).await?;
            Ok(AnnounceStatusAnswer { talks: count })
        })
        .await
    }
}
