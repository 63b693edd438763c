//! Test harness: a real gateway on port 0 over a real bus, a fake
//! talk-service for memberships, agents with tokens, events, and a WebSocket client.

pub mod client;
pub mod fake_talks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use talk_auth::{AgentClaim, PERMISSION_ADMIN, PERMISSION_AGENT, Tokens};
use talk_config::Config;
use talk_events::kinds::{self, DomainEvent};
use talk_events::nats::{NatsBus, NatsSettings};
use talk_events::{Bus, EventEnvelope, Outgoing};
use talk_testkit::{Prefix, task_ended};
use talk_types::{AgentId, CustomerId, MessageId, TalkId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use client::{Client, Received};
pub use fake_talks::FakeTalks;

pub const SECRET: &str = "test-secret-of-sufficient-length";

/// A fresh JetStream stream and subject prefix.
pub async fn nats_bus() -> (Arc<NatsBus>, String, String) {
    let Prefix { subject, stream } = talk_testkit::fresh_prefix();
    let bus = NatsBus::connect(NatsSettings {
        url: talk_testkit::nats_url(),
        stream: stream.clone(),
        prefix: subject.clone(),
        retention: Duration::from_secs(3600),
        replicas: 1,
    })
    .await
    .unwrap_or_else(|e| panic!("NATS at {}: {e}", talk_testkit::nats_url()));
    (Arc::new(bus), subject, stream)
}

/// One test's world: the bus, the fake talk-service and a token issuer.
pub struct World {
    pub bus: Arc<dyn Bus>,
    pub prefix: String,
    pub talks: FakeTalks,
    pub tokens: Tokens,
    pub customer: CustomerId,
    pub shutdown: CancellationToken,
}

impl World {
    pub async fn nats() -> Self {
        let (bus, prefix, _) = nats_bus().await;
        Self::on(bus, prefix).await
    }

    pub async fn on(bus: Arc<dyn Bus>, prefix: String) -> Self {
        let shutdown = CancellationToken::new();
        Self {
            bus,
            prefix,
            talks: FakeTalks::start(shutdown.clone()).await,
            tokens: Tokens::new(SECRET.as_bytes(), 3600),
            customer: CustomerId::new(),
            shutdown,
        }
    }

    pub fn config(&self) -> Config {
        Config {
            jwt_secret: SECRET.into(),
            talk_service_url: self.talks.url.clone(),
            agent_service_url: self.talks.url.clone(),
            message_service_url: self.talks.url.clone(),
            subject_prefix: self.prefix.clone(),
            ws_pong_timeout_secs: 10,
            ..Config::default()
        }
    }

    /// A gateway with the default test configuration.
    pub async fn gateway(&self) -> Gateway {
        self.gateway_with(self.config()).await
    }

    /// A gateway with `config` on fresh ports: its WebSocket, its
    /// `PushService` and its ops port (health and metrics).
    pub async fn gateway_with(&self, config: Config) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (grpc, ops) = (talk_testkit::free_addr(), talk_testkit::free_addr());
        let config = Config {
            push_grpc_addr: grpc,
            ops_addr: Some(ops),
            ..config
        };
        let shutdown = self.shutdown.child_token();
        let handle = tokio::spawn(push_gateway::run(
            config,
            self.bus.clone(),
            listener,
            shutdown.clone(),
        ));
        talk_testkit::wait_ready(&format!("http://{ops}"), None, task_ended(&handle))
            .await
            .expect("gateway ready");
        Gateway {
            addr,
            grpc,
            ops,
            shutdown,
            handle,
        }
    }

    /// An agent of this world's customer who is a member of `talks`, and its token.
    pub fn agent(&self, talks: &[TalkId]) -> Agent {
        self.agent_of(self.customer, PERMISSION_AGENT, talks)
    }

    /// An admin of this world's customer.
    pub fn admin(&self, talks: &[TalkId]) -> Agent {
        self.agent_of(self.customer, PERMISSION_ADMIN, talks)
    }

    pub fn agent_of(&self, customer: CustomerId, permission: u32, talks: &[TalkId]) -> Agent {
        let id = AgentId::new();
        let token = self
            .tokens
            .issue(AgentClaim {
                id,
                customer_id: customer,
                username: format!("agent-{id}"),
                name: "Agent".into(),
                permission,
            })
            .unwrap();
        self.talks.set(id, talks);
        Agent {
            id,
            customer,
            token,
        }
    }

    /// Publishes events in order; returns the last cursor.
    pub async fn publish(&self, envelopes: &[EventEnvelope]) -> u64 {
        let batch = envelopes
            .iter()
            .map(|e| Outgoing {
                subject: kinds::subject(&self.prefix, e),
                event_id: e.id.clone(),
                traceparent: String::new(),
                payload: Bytes::from(kinds::encode(e)),
            })
            .collect();
        self.bus
            .publish_batch(batch)
            .await
            .map_err(|(_, e)| e)
            .unwrap();
        self.bus.last_seq().await.unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct Gateway {
    /// The WebSocket's address.
    pub addr: SocketAddr,
    /// `PushService`'s address.
    pub grpc: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` answer.
    pub ops: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<Result<(), push_gateway::Error>>,
}

impl Gateway {
    pub fn url(&self, query: &str) -> String {
        format!("ws://{}/v1.0/ws{query}", self.addr)
    }

    /// Connects with `?token=` and subscribes to `agent_id:<me>:chat` (acked).
    pub async fn subscribed(&self, agent: &Agent) -> Client {
        let mut client = Client::connect(&self.url(&format!("?token={}", agent.token))).await;
        client
            .subscribe(&[format!("agent_id:{}:chat", agent.id)])
            .await;
        client
    }
}

#[derive(Clone)]
pub struct Agent {
    pub id: AgentId,
    pub customer: CustomerId,
    pub token: String,
}

fn envelope<E: DomainEvent>(event: E, customer: CustomerId, talk: TalkId) -> EventEnvelope {
    kinds::envelope(event, customer, talk, String::new())
}

/// A message payload with `text`.
pub fn message(
    customer: CustomerId,
    talk: TalkId,
    author: AgentId,
    text: &str,
) -> talk_proto::Message {
    talk_proto::Message {
        id: MessageId::new().to_string(),
        customer_id: customer.to_string(),
        owner_type: "agent".into(),
        owner_id: author.to_string(),
        chat_id: talk.to_string(),
        parent_id: None,
        r#type: "normal".into(),
        text: text.into(),
        medias: vec![],
        reactions: vec![],
        mentions: vec![],
        seq: 1,
        reply_count: 0,
        tm_create: 1_700_000_000_000_000,
        tm_update: 0,
        tm_delete: 0,
        change_seq: 1,
    }
}

/// `message_created` with `text`.
pub fn posted(customer: CustomerId, talk: TalkId, author: AgentId, text: &str) -> EventEnvelope {
    envelope(
        kinds::MessageCreated(message(customer, talk, author, text)),
        customer,
        talk,
    )
}

pub fn participant(
    customer: CustomerId,
    talk: TalkId,
    agent: AgentId,
    left: bool,
) -> talk_proto::Participant {
    talk_proto::Participant {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: customer.to_string(),
        owner_type: "agent".into(),
        owner_id: agent.to_string(),
        chat_id: talk.to_string(),
        state: if left { "left" } else { "active" }.into(),
        tm_joined: 1_700_000_000_000_000,
        tm_left: if left { 1_700_000_001_000_000 } else { 0 },
        role: "member".into(),
    }
}

/// `participant_joined` of `agent`.
pub fn joined(customer: CustomerId, talk: TalkId, agent: AgentId) -> EventEnvelope {
    envelope(
        kinds::ParticipantJoined(participant(customer, talk, agent, false)),
        customer,
        talk,
    )
}

/// `participant_left` of `agent`.
pub fn left(customer: CustomerId, talk: TalkId, agent: AgentId) -> EventEnvelope {
    envelope(
        kinds::ParticipantLeft(participant(customer, talk, agent, true)),
        customer,
        talk,
    )
}

pub fn talk(customer: CustomerId, talk: TalkId) -> talk_proto::Talk {
    talk_proto::Talk {
        id: talk.to_string(),
        customer_id: customer.to_string(),
        r#type: "group".into(),
        name: "Launch".into(),
        detail: String::new(),
        member_count: 2,
        state: "active".into(),
        tm_create: 1_700_000_000_000_000,
        tm_update: 1_700_000_000_000_000,
        tm_delete: 0,
        unread_count: 0,
        last_seq: 0,
        close_reason: String::new(),
    }
}

/// Every event kind once, for `talk`, by `author` (who is also the participant).
pub fn every_kind(customer: CustomerId, t: TalkId, author: AgentId) -> Vec<EventEnvelope> {
    let m = message(customer, t, author, "hello");
    let mut reacted = m.clone();
    reacted.reactions.push(talk_proto::Reaction {
        emoji: "👍".into(),
        owner_type: "agent".into(),
        owner_id: author.to_string(),
        tm_create: 1_700_000_000_000_000,
    });
    let p = participant(customer, t, author, false);
    vec![
        envelope(kinds::TalkCreated(talk(customer, t)), customer, t),
        envelope(kinds::TalkUpdated(talk(customer, t)), customer, t),
        envelope(kinds::TalkClosed(talk(customer, t)), customer, t),
        envelope(kinds::TalkReopened(talk(customer, t)), customer, t),
        envelope(kinds::ParticipantJoined(p.clone()), customer, t),
        envelope(kinds::MessageCreated(m.clone()), customer, t),
        envelope(kinds::MessageUpdated(m.clone()), customer, t),
        envelope(kinds::ReactionAdded(reacted), customer, t),
        envelope(kinds::ReactionRemoved(m.clone()), customer, t),
        envelope(kinds::MessageDeleted(m), customer, t),
        envelope(kinds::TalkDeleted(talk(customer, t)), customer, t),
        envelope(kinds::ParticipantLeft(p), customer, t),
    ]
}
