//! Login and tokens.

use super::*;

#[tokio::test]
async fn login_answers_token_and_cookie_and_401_with_body() {
    let edge = start().await;
    for path in ["/auth/login", "/v1.0/auth/login"] {
        let ok = edge
            .send(
                edge.http
                    .post(format!("{}{path}", edge.base))
                    .json(&json!({"username": "alice", "password": PASSWORD})),
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.body["username"], "alice");
        let token = ok.body["token"].as_str().expect("token");
        let cookie = ok.headers["set-cookie"].to_str().expect("ascii");
        assert!(cookie.starts_with(&format!("token={token};")), "{cookie}");
        for part in ["Max-Age=3600", "Path=/", "HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(part), "{cookie}");
        }
    }
    let wrong = edge
        .send(
            edge.http
                .post(format!("{}/auth/login", edge.base))
                .json(&json!({"username": "alice", "password": "nope"})),
        )
        .await;
    assert_error(&wrong, 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS");
    let missing = edge
        .send(
            edge.http
                .post(format!("{}/auth/login", edge.base))
                .json(&json!({"username": "alice"})),
        )
        .await;
    assert_error(&missing, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("password")),
        "{}",
        missing.text
    );
}

#[tokio::test]
async fn tokens_from_cookie_query_and_bearer_and_clear_401s() {
    let edge = start().await;
    let url = format!("{}/v1.0/me", edge.base);
    let none = edge.send(edge.http.get(&url)).await;
    assert_error(&none, 401, "UNAUTHENTICATED", "AUTHENTICATION_REQUIRED");
    let bad = edge
        .send(edge.http.get(&url).bearer_auth("not-a-token"))
        .await;
    assert_error(&bad, 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS");
    let expired = Tokens::new(SECRET.as_bytes(), 0)
        .issue(claim(16))
        .expect("token");
    let old = edge.send(edge.http.get(&url).bearer_auth(expired)).await;
    assert_error(&old, 401, "UNAUTHENTICATED", "INVALID_CREDENTIALS");

    let cookie = edge
        .send(
            edge.http
                .get(&url)
                .header("cookie", format!("token={}", edge.token)),
        )
        .await;
    assert_eq!(cookie.status, 200, "{}", cookie.text);
    assert_eq!(cookie.body["username"], "alice");
    let query = edge
        .send(edge.http.get(format!("{url}?token={}", edge.token)))
        .await;
    assert_eq!(query.status, 200, "{}", query.text);
    let bearer = edge
        .call(Method::GET, "/v1.0/service_agents/me", None)
        .await;
    assert_eq!(bearer.status, 200, "{}", bearer.text);
}

#[tokio::test]
async fn creating_agents_needs_an_admin() {
    let edge = start().await;
    let agent_token = Tokens::new(SECRET.as_bytes(), 3600)
        .issue(claim(16))
        .expect("token");
    let body = json!({"username": "bob", "password": "secret-password"});
    let refused = edge
        .send(
            edge.http
                .post(format!("{}/v1.0/agents", edge.base))
                .bearer_auth(agent_token)
                .json(&body),
        )
        .await;
    assert_error(&refused, 403, "PERMISSION_DENIED", "PERMISSION_DENIED");
    let created = edge.call(Method::POST, "/v1.0/agents", Some(body)).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.body["username"], "alice");
}
