//! Cross-cutting HTTP behaviour: error bodies, limits, request ids, CORS,
//! idempotency keys.

use super::*;

#[tokio::test]
async fn malformed_bodies_get_invalid_json_body() {
    let edge = start().await;
    let chats = "/v1.0/service_agents/talk_chats";
    let broken = edge.raw(Method::POST, chats, "{not json").await;
    assert_error(&broken, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    let wrong_type = edge
        .call(Method::POST, chats, Some(json!({"type": 7})))
        .await;
    assert_error(&wrong_type, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    assert!(
        wrong_type.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid type"))
    );
    let empty = edge.raw(Method::POST, chats, "").await;
    assert_error(&empty, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    let array = edge.raw(Method::POST, "/v1.0/talks", "[1,2]").await;
    assert_error(&array, 400, "INVALID_ARGUMENT", "INVALID_JSON_BODY");
    let bad_owner = edge
        .call(Method::POST, chats, Some(json!({"type": "group", "participants": [{"owner_type": "agent", "owner_id": "nope"}]})))
        .await;
    assert_error(&bad_owner, 400, "INVALID_ARGUMENT", "INVALID_ID");
    assert_eq!(
        bad_owner.body["error"]["message"],
        "The provided owner_id is not a valid UUID."
    );
    let parent = edge
        .call(
            Method::POST,
            "/v1.0/service_agents/talk_messages",
            Some(json!({"chat_id": TALK, "text": "x", "parent_id": "nope"})),
        )
        .await;
    assert_error(&parent, 400, "INVALID_ARGUMENT", "INVALID_ID");
    let no_fields = edge
        .call(Method::PUT, &format!("/v1.0/talks/{TALK}"), Some(json!({})))
        .await;
    assert_error(&no_fields, 400, "INVALID_ARGUMENT", "MISSING_FIELD");
    assert!(
        edge.recorder.last("CreateTalk").is_none(),
        "nothing reached the service"
    );
    assert!(
        edge.recorder.last("PostMessage").is_none(),
        "nothing reached the service"
    );
}

#[tokio::test]
async fn bad_ids_and_query_parameters_are_400s() {
    let edge = start().await;
    let bad = edge
        .call(Method::GET, "/v1.0/service_agents/talk_chats/nope", None)
        .await;
    assert_error(&bad, 400, "INVALID_ARGUMENT", "INVALID_ID");
    assert_eq!(
        bad.body["error"]["message"],
        "The provided id is not a valid UUID."
    );
    let second = edge
        .call(
            Method::DELETE,
            &format!("/v1.0/service_agents/talk_chats/{TALK}/participants/nope"),
            None,
        )
        .await;
    assert_error(&second, 400, "INVALID_ARGUMENT", "INVALID_ID");
    assert_eq!(
        second.body["error"]["message"],
        "The provided participant_id is not a valid UUID."
    );
    let missing = edge
        .call(Method::GET, "/v1.0/service_agents/talk_messages", None)
        .await;
    assert_error(
        &missing,
        400,
        "INVALID_ARGUMENT",
        "MISSING_REQUEST_PARAMETER",
    );
    let chat = edge
        .call(
            Method::GET,
            "/v1.0/service_agents/talk_messages?chat_id=nope",
            None,
        )
        .await;
    assert_error(&chat, 400, "INVALID_ARGUMENT", "INVALID_ID");
    let size = edge
        .call(
            Method::GET,
            "/v1.0/service_agents/talk_chats?page_size=ten",
            None,
        )
        .await;
    assert_error(&size, 400, "INVALID_ARGUMENT", "INVALID_REQUEST_PARAMETER");
    let token = edge
        .call(
            Method::GET,
            "/v1.0/service_agents/talk_chats?page_token=yesterday",
            None,
        )
        .await;
    assert_error(&token, 400, "INVALID_ARGUMENT", "INVALID_REQUEST_PARAMETER");
    for (query, expected) in [
        ("page_size=500", 100),
        ("page_size=-3", 100),
        ("page_size=0", 100),
        ("page_size=7", 7),
        ("", 100),
    ] {
        let ok = edge
            .call(
                Method::GET,
                &format!("/v1.0/service_agents/talk_chats?{query}"),
                None,
            )
            .await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        let page = edge
            .recorder
            .last("ListTalks")
            .and_then(|c| c.page)
            .expect("page");
        assert_eq!(page.page_size, expected, "{query}");
    }
}

#[tokio::test]
async fn unknown_routes_methods_and_big_bodies_get_the_error_body() {
    let edge = start().await;
    let route = edge.call(Method::GET, "/v1.0/nothing/here", None).await;
    assert_error(&route, 404, "NOT_FOUND", "ROUTE_NOT_FOUND");
    let method = edge.call(Method::PATCH, "/v1.0/talks", None).await;
    assert_eq!(method.status, 405, "{}", method.text);
    assert_eq!(method.body["error"]["reason"], "METHOD_NOT_ALLOWED");
    let big = format!("{{\"text\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let large = edge
        .raw(Method::POST, &format!("/v1.0/talks/{TALK}/messages"), &big)
        .await;
    assert_error(&large, 413, "PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE");
    let keyed = edge
        .send(
            edge.request(Method::POST, &format!("/v1.0/talks/{TALK}/messages"))
                .header("idempotency-key", "k1")
                .body(big),
        )
        .await;
    assert_error(&keyed, 413, "PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE");
    let failing = edge
        .call(
            Method::PUT,
            &format!("/v1.0/talks/{TALK}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_error(&failing, 500, "INTERNAL", "INTERNAL");
    assert!(
        !failing.text.contains("exploded"),
        "500 bodies never echo internals"
    );
    let closed = edge
        .call(Method::POST, &format!("/v1.0/talks/{TALK}/close"), None)
        .await;
    assert_error(&closed, 409, "FAILED_PRECONDITION", "TALK_CLOSED");
    let unknown = edge
        .call(Method::GET, &format!("/v1.0/talks/{OTHER}"), None)
        .await;
    assert_error(&unknown, 404, "NOT_FOUND", "TALK_NOT_FOUND");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let edge = start().await;
    let echoed = edge
        .send(
            edge.request(Method::GET, "/v1.0/me")
                .header("x-request-id", "abc_DEF-123"),
        )
        .await;
    assert_eq!(echoed.headers["x-request-id"], "abc_DEF-123");
    for bad in ["has space", "ü", &"x".repeat(65)] {
        let generated = edge
            .send(
                edge.request(Method::GET, "/v1.0/nowhere")
                    .header("x-request-id", bad),
            )
            .await;
        let id = generated.headers["x-request-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(id.starts_with("req_") && id.len() == 30, "{id}");
        assert!(
            id[4..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
            "{id}"
        );
        assert_eq!(generated.body["error"]["request_id"], id);
    }
}

#[tokio::test]
async fn cors_preflight_follows_voipbin() {
    let edge = start().await;
    let preflight = edge
        .send(
            edge.http
                .request(
                    Method::OPTIONS,
                    format!("{}/v1.0/service_agents/talk_chats", edge.base),
                )
                .header("origin", "https://talk.example")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type",
                ),
        )
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
    assert_eq!(preflight.headers["access-control-max-age"], "43200");
    let methods = preflight.headers["access-control-allow-methods"]
        .to_str()
        .expect("ascii");
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    assert!(
        !preflight
            .headers
            .contains_key("access-control-allow-credentials")
    );
    let simple = edge
        .send(
            edge.request(Method::GET, "/v1.0/me")
                .header("origin", "https://talk.example"),
        )
        .await;
    assert_eq!(simple.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn idempotency_keys_are_forwarded_with_a_request_hash() {
    let edge = start().await;
    let path = format!("/v1.0/talks/{TALK}/messages");
    let send = |key: &str, text: &str| {
        edge.request(Method::POST, &path)
            .header("idempotency-key", key.to_owned())
            .json(&json!({"text": text}))
    };
    assert_eq!(edge.send(send("key-1", "hi")).await.status, 201);
    let first = edge
        .recorder
        .last("PostMessage")
        .and_then(|c| c.options)
        .expect("options");
    assert_eq!(first.idempotency_key, "key-1");
    assert_eq!(first.request_hash.len(), 64);
    edge.send(send("key-1", "hi")).await;
    let again = edge
        .recorder
        .last("PostMessage")
        .and_then(|c| c.options)
        .expect("options");
    assert_eq!(
        again.request_hash, first.request_hash,
        "same request, same hash"
    );
    edge.send(send("key-1", "other")).await;
    let other = edge
        .recorder
        .last("PostMessage")
        .and_then(|c| c.options)
        .expect("options");
    assert_ne!(
        other.request_hash, first.request_hash,
        "another body, another hash"
    );
    edge.call(Method::POST, &path, Some(json!({"text": "no key"})))
        .await;
    let none = edge
        .recorder
        .last("PostMessage")
        .and_then(|c| c.options)
        .expect("options");
    assert!(none.idempotency_key.is_empty() && none.request_hash.is_empty());
    let long = edge.send(send(&"k".repeat(256), "hi")).await;
    assert_error(&long, 400, "INVALID_ARGUMENT", "INVALID_IDEMPOTENCY_KEY");
}

#[tokio::test]
async fn requests_with_traceparent_work_and_metrics_are_per_route() {
    let edge = start().await;
    let reply = edge
        .send(
            edge.request(Method::GET, "/v1.0/service_agents/talk_chats")
                .header(
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
        )
        .await;
    assert_eq!(reply.status, 200);
    let metrics = edge
        .send(edge.http.get(format!("{}/metrics", edge.ops)))
        .await;
    assert!(
        metrics
            .text
            .contains("route=\"/v1.0/service_agents/talk_chats\""),
        "{}",
        metrics.text
    );
    // The public port serves the API only: no metrics, no health.
    for path in ["/metrics", "/readyz", "/healthz"] {
        let public = edge
            .send(edge.http.get(format!("{}{path}", edge.base)))
            .await;
        assert_eq!(public.status, 404, "{path} on the REST port");
    }
}
