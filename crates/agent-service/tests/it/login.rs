//! Login: credentials, tokens, and refusals that all look alike.

use talk_auth::Tokens;
use talk_proto::{DeleteAgentRequest, LoginRequest};
use talk_types::ErrorKind;

use crate::support::{ADMIN_PASSWORD, Harness, JWT_SECRET, api_err};

#[tokio::test]
async fn login_issues_a_token_that_verifies() {
    let h = Harness::start().await;
    let (token, agent) = h.login("admin", ADMIN_PASSWORD).await.expect("login");
    let identity = Tokens::new(JWT_SECRET.as_bytes(), 60)
        .verify(&token)
        .expect("token verifies");
    assert_eq!(identity.agent.id.to_string(), agent.id);
    assert_eq!(identity.agent.customer_id.to_string(), agent.customer_id);
    assert_eq!(identity.agent.username, "admin");
    assert_eq!(identity.agent.permission, 48);
    assert!(identity.is_admin());
    let other = Tokens::new(b"some-other-secret-value", 60);
    assert!(other.verify(&token).is_err());
    h.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_invalid_credentials() {
    let h = Harness::start().await;
    for (username, password) in [("admin", "wrong-password"), ("nobody", ADMIN_PASSWORD)] {
        let err = h.login(username, password).await.expect_err("refused");
        assert_eq!(err.kind, ErrorKind::Unauthenticated);
        assert_eq!(err.reason, "INVALID_CREDENTIALS");
        assert!(!err.message.contains(password));
    }
    h.stop().await;
}

#[tokio::test]
async fn missing_fields_are_named() {
    let h = Harness::start().await;
    let err = api_err(
        h.client
            .clone()
            .login(LoginRequest {
                username: String::new(),
                password: "x".into(),
            })
            .await,
    );
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(err.reason, "MISSING_FIELD");
    assert!(err.message.contains("username"));
    let err = h.login("admin", "").await.expect_err("refused");
    assert_eq!(err.reason, "MISSING_FIELD");
    assert!(err.message.contains("password"));
    h.stop().await;
}

#[tokio::test]
async fn deleted_agents_cannot_log_in() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let bob = h.create(&admin, "bob", 0).await.expect("create bob");
    h.login("bob", "bob-password").await.expect("bob logs in");
    h.client
        .clone()
        .delete_agent(talk_runtime::grpc::acting(
            admin,
            DeleteAgentRequest {
                options: None,
                agent_id: bob.id,
            },
        ))
        .await
        .expect("delete bob");
    let err = h.login("bob", "bob-password").await.expect_err("refused");
    assert_eq!(err.reason, "INVALID_CREDENTIALS");
    h.stop().await;
}
