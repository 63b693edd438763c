//! Authentication: query, bearer, cookie, first frame; refusals.

use serde_json::{Value, json};
use talk_types::TalkId;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Client, World, posted};

/// Subscribes as `agent` and checks that a posted message arrives.
async fn receives(world: &World, client: &mut Client, agent: &crate::support::Agent, talk: TalkId) {
    client
        .subscribe(&[format!("agent_id:{}:chat", agent.id)])
        .await;
    world
        .publish(&[posted(world.customer, talk, agent.id, "hi")])
        .await;
    let frame = client.frame().await;
    assert_eq!(frame["type"], "message_created");
    assert_eq!(frame["data"]["text"], "hi");
    assert_eq!(frame["topic"], format!("agent_id:{}:chat:{talk}", agent.id));
}

/// The status and error body of an upgrade the gateway refuses.
async fn refused(url: &str) -> (u16, Value) {
    let error = tokio_tungstenite::connect_async(url).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(response) = error else {
        panic!("expected an HTTP error, got {error:?}");
    };
    let body = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
    (response.status().as_u16(), body)
}

#[tokio::test]
async fn token_in_query_header_cookie_or_first_frame() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);

    let mut by_query = Client::connect(&gateway.url(&format!("?token={}", agent.token))).await;
    receives(&world, &mut by_query, &agent, talk).await;

    let mut request = gateway.url("").into_client_request().unwrap();
    let bearer = format!("Bearer {}", agent.token).parse().unwrap();
    request.headers_mut().insert("authorization", bearer);
    let mut by_header = Client::connect_request(request).await;
    receives(&world, &mut by_header, &agent, talk).await;

    let mut request = format!("ws://{}/v1.0/service_agents/ws?events=seed", gateway.addr)
        .into_client_request()
        .unwrap();
    let cookie = format!("token={}", agent.token).parse().unwrap();
    request.headers_mut().insert("cookie", cookie);
    let mut by_cookie = Client::connect_request(request).await;
    receives(&world, &mut by_cookie, &agent, talk).await;

    let mut by_frame = Client::connect(&gateway.url("")).await;
    let before = by_frame
        .request(json!({"type": "auth", "token": agent.token}))
        .await;
    assert!(before.is_empty());
    receives(&world, &mut by_frame, &agent, talk).await;
}

#[tokio::test]
async fn bad_token_is_a_401_before_the_upgrade() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let other = talk_auth::Tokens::new(b"another-secret-0123456789", 60);
    let agent = world.agent(&[]);
    let forged = {
        let claims = talk_auth::AgentClaim {
            id: agent.id,
            customer_id: agent.customer,
            username: "x".into(),
            name: String::new(),
            permission: 16,
        };
        other.issue(claims).unwrap()
    };
    for token in ["garbage", forged.as_str()] {
        let (status, body) = refused(&gateway.url(&format!("?token={token}"))).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
        assert_eq!(body["error"]["reason"], "INVALID_CREDENTIALS");
        assert!(
            body["error"]["request_id"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
    // Bad query parameters are a 400, also before the upgrade.
    let (status, _) =
        refused(&gateway.url(&format!("?token={}&events=klingon", agent.token))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn first_frame_auth_refusals_close_with_4401() {
    let world = World::nats().await;
    let gateway = world.gateway().await;

    let mut bad = Client::connect(&gateway.url("")).await;
    bad.send(json!({"type": "auth", "token": "garbage"})).await;
    let (code, reason) = bad.closed().await;
    assert_eq!(code, push_gateway::close::UNAUTHENTICATED);
    assert_eq!(reason, "invalid credentials");

    let mut wrong = Client::connect(&gateway.url("")).await;
    wrong.send(json!({"type": "subscribe", "topics": []})).await;
    assert_eq!(wrong.closed().await.0, push_gateway::close::UNAUTHENTICATED);

    // The silent client's 5 s pass on a paused clock: once it is connected
    // only the gateway's timer can move the test on, and tokio advances the
    // clock to it at once. The deadline is armed after `started` and no later
    // than `connected` (the clock stands still from there until the runtime
    // idles), so it falls 5 s after one or the other, to the timer wheel's
    // millisecond.
    let started = tokio::time::Instant::now();
    let mut silent = Client::connect(&gateway.url("")).await;
    tokio::time::pause();
    let connected = tokio::time::Instant::now();
    let (code, reason) = silent.closed().await;
    assert_eq!(code, push_gateway::close::UNAUTHENTICATED);
    assert!(reason.contains("within 5 seconds"), "{reason}");
    let auth_timeout = std::time::Duration::from_secs(5);
    let tick = std::time::Duration::from_millis(2);
    assert!(started.elapsed() >= auth_timeout, "{:?}", started.elapsed());
    assert!(
        connected.elapsed() <= auth_timeout + tick,
        "{:?}",
        connected.elapsed()
    );
}

#[tokio::test]
async fn a_revoked_token_closes_its_socket_with_4401_and_cannot_open_another() {
    let world = World::nats().await;
    let gateway = world.gateway().await;
    let talk = TalkId::new();
    let agent = world.agent(&[talk]);
    let mut client = Client::connect(&gateway.url(&format!("?token={}", agent.token))).await;
    receives(&world, &mut client, &agent, talk).await;

    // agent-service moves the agent's token version (logout, new password…):
    // the gateway's next sweep closes the socket.
    world.talks.revoke(agent.id);
    let (code, reason) = client.closed().await;
    assert_eq!(code, push_gateway::close::UNAUTHENTICATED);
    assert_eq!(reason, "token revoked");

    // The same token opens nothing any more: 401 before the upgrade.
    let (status, body) = refused(&gateway.url(&format!("?token={}", agent.token))).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["reason"], "TOKEN_REVOKED");
}
