//! The contract with the real agent-service and talk-service: access checks,
//! closed talks and system messages with real names, end to end over gRPC.

use std::sync::Arc;
use std::time::Duration;

use talk_config::Config;
use talk_events::memory::MemoryBus;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::message_service_client::MessageServiceClient;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_proto::{
    Caller, CreateAgentRequest, CreateTalkRequest, ListMessagesRequest, LoginRequest, Message,
    ParticipantRef, PostMessageRequest, TalkWrite,
};
use talk_testkit::{task_ended, wait_ready};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::harness::{api, assert_err};

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

async fn list(
    client: &MessageServiceClient<talk_runtime::Channel>,
    caller: &Caller,
    talk: &str,
) -> Vec<Message> {
    let request = talk_runtime::grpc::acting(
        caller.clone(),
        ListMessagesRequest {
            talk_id: talk.to_owned(),
            page: None,
        },
    );
    let mut messages = api(client.clone().list_messages(request).await)
        .unwrap()
        .messages;
    messages.reverse();
    messages
}

#[tokio::test]
async fn with_the_real_talk_and_agent_services() {
    let database_url = talk_testkit::fresh_database().await.unwrap();
    let shutdown = CancellationToken::new();
    let bus = Arc::new(MemoryBus::new(10_000));
    let (agent_listener, agent_url) = bind().await;
    let (talk_listener, talk_url) = bind().await;
    let (message_listener, message_url) = bind().await;
    let config = Config {
        database_url: database_url.clone(),
        jwt_secret: "a-test-secret-of-some-length-0123456789".into(),
        admin_password: "admin-password-1".into(),
        agent_service_url: agent_url.clone(),
        talk_service_url: talk_url.clone(),
        ..Config::default()
    };
    let agent_service = tokio::spawn(agent_service::run(
        config.clone(),
        agent_listener,
        shutdown.clone(),
    ));
    wait_ready(&agent_url, None, task_ended(&agent_service))
        .await
        .unwrap();
    let talk_service = tokio::spawn(talk_service::run(
        config.clone(),
        bus.clone(),
        talk_listener,
        shutdown.clone(),
    ));
    let message_service = tokio::spawn(message_service::run(
        config.clone(),
        bus.clone(),
        message_listener,
        shutdown.clone(),
    ));
    wait_ready(&talk_url, None, task_ended(&talk_service))
        .await
        .unwrap();
    wait_ready(&message_url, None, task_ended(&message_service))
        .await
        .unwrap();

    let internal = talk_runtime::Internal::from_config("test", &config);
    let mut agents = AgentServiceClient::new(talk_runtime::channel(&agent_url, &internal).unwrap());
    let mut talks = TalkServiceClient::new(talk_runtime::channel(&talk_url, &internal).unwrap());
    let messages =
        MessageServiceClient::new(talk_runtime::channel(&message_url, &internal).unwrap());

    let login = api(agents
        .login(LoginRequest {
            username: "admin".into(),
            password: "admin-password-1".into(),
        })
        .await)
    .unwrap();
    let admin = login.agent.unwrap();
    let admin_caller = Caller {
        agent_id: admin.id.clone(),
        customer_id: admin.customer_id.clone(),
        permission: admin.permission,
    };
    let new_agent = |username: &'static str, name: &'static str| {
        let request = talk_runtime::grpc::acting(
            admin_caller.clone(),
            CreateAgentRequest {
                username: username.into(),
                password: "password-123456".into(),
                name: name.into(),
                permission: 16,
                ..Default::default()
            },
        );
        let mut agents = agents.clone();
        async move {
            let agent = api(agents.create_agent(request).await).unwrap();
            Caller {
                agent_id: agent.id,
                customer_id: agent.customer_id,
                permission: agent.permission,
            }
        }
    };
    let bob = new_agent("bob", "Bob Builder").await;
    let carol = new_agent("carol", "Carol Danvers").await;

    let created = api(talks
        .create_talk(talk_runtime::grpc::acting(
            admin_caller.clone(),
            CreateTalkRequest {
                r#type: "group".into(),
                name: Some("release".into()),
                participants: vec![ParticipantRef {
                    owner_type: "agent".into(),
                    owner_id: bob.agent_id.clone(),
                }],
                ..Default::default()
            },
        ))
        .await)
    .unwrap();
    let talk = created.talk.unwrap().id;

    let post = |caller: &Caller, text: &str| {
        let request = talk_runtime::grpc::acting(
            caller.clone(),
            PostMessageRequest {
                talk_id: talk.clone(),
                text: text.to_owned(),
                ..Default::default()
            },
        );
        let mut messages = messages.clone();
        async move { api(messages.post_message(request).await) }
    };
    let hello = post(&bob, "hello team").await.unwrap();
    assert_eq!(hello.owner_id, bob.agent_id);
    assert_err(post(&carol, "let me in").await, 403, "PERMISSION_DENIED");

    // Carol is added: everyone sees "<name> joined the conversation." once.
    api(talks
        .add_participant(talk_runtime::grpc::acting(
            admin_caller.clone(),
            talk_proto::AddParticipantRequest {
                talk_id: talk.clone(),
                participant: Some(ParticipantRef {
                    owner_type: "agent".into(),
                    owner_id: carol.agent_id.clone(),
                }),
                ..Default::default()
            },
        ))
        .await)
    .unwrap();
    let mut texts = Vec::new();
    for _ in 0..250 {
        texts = list(&messages, &bob, &talk)
            .await
            .into_iter()
            .map(|m| m.text)
            .collect::<Vec<_>>();
        if texts
            .iter()
            .any(|t| t == "Carol Danvers joined the conversation.")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        texts
            .iter()
            .filter(|t| *t == "Carol Danvers joined the conversation.")
            .count(),
        1,
        "{texts:?}"
    );
    post(&carol, "hi all").await.unwrap();

    // Closed talks refuse posts with 409 until reopened.
    let close = || {
        talk_runtime::grpc::acting(
            admin_caller.clone(),
            TalkWrite {
                options: None,
                talk_id: talk.clone(),
            },
        )
    };
    api(talks.close_talk(close()).await).unwrap();
    let err = post(&bob, "anyone?").await.unwrap_err();
    assert_eq!(
        (err.kind.http_status(), err.reason.as_ref()),
        (409, "TALK_CLOSED")
    );
    api(talks.reopen_talk(close()).await).unwrap();
    post(&bob, "back again").await.unwrap();

    shutdown.cancel();
    let _ = talk_testkit::drop_database(&database_url).await;
}
