//! Internal calls prove who is calling: every method of every service, called
//! over gRPC on loopback with no credential, a forged one (another secret) or
//! an agent's token instead of an internal one, answers UNAUTHENTICATED and
//! changes nothing; with the deployment's internal token it reaches the service.

use std::collections::BTreeSet;

use anyhow::Context;
use talk_e2e::cluster::ADMIN_PASSWORD;
use talk_e2e::{Api, Cluster, Topology};

/// `(service, method)` of every rpc in proto/talk/v1.
fn every_method() -> anyhow::Result<Vec<(String, String)>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto/talk/v1");
    let mut methods = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        let mut service = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("service ") {
                service = rest.split_whitespace().next().map(str::to_owned);
            } else if let (Some(rest), Some(service)) = (line.strip_prefix("rpc "), &service) {
                let method = rest.split('(').next().unwrap_or_default().trim().to_owned();
                methods.push((service.clone(), method));
            }
        }
    }
    Ok(methods)
}

/// The `grpc-status` a raw call of `service/method` with an empty message and
/// `authorization` gets from the server at `base`.
async fn status_of(
    http: &reqwest::Client,
    base: &str,
    service: &str,
    method: &str,
    authorization: Option<&str>,
) -> anyhow::Result<String> {
    let mut request = http
        .post(format!("{base}/talk.v1.{service}/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(vec![0u8; 5]);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await?;
    Ok(response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(in trailers)")
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_refuses_a_call_without_a_valid_internal_token() -> anyhow::Result<()> {
    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let agents_before = admin.get("/v1.0/agents").await?;
    let talks_before = admin.get("/v1.0/talks").await?;
    let push = cluster.push.replacen("ws://", "http://", 1);
    let base_of = |service: &str| match service {
        "AgentService" => Some(cluster.config.agent_service_url.clone()),
        "TalkService" => Some(cluster.config.talk_service_url.clone()),
        "MessageService" => Some(cluster.config.message_service_url.clone()),
        "PushService" => Some(push.clone()),
        _ => None,
    };
    let http = reqwest::Client::builder().http2_prior_knowledge().build()?;
    // A token of the right shape signed with another secret.
    let forged = {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &serde_json::json!({"sub": "evil", "aud": "talk-internal", "exp": u64::MAX / 2}),
            &jsonwebtoken::EncodingKey::from_secret(b"not-the-deployment-secret-0123456789"),
        )?
    };
    let agent_token = admin.token.clone().context("admin token")?;
    let methods = every_method()?;
    let services: BTreeSet<&str> = methods.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        services,
        BTreeSet::from([
            "AgentService",
            "MessageService",
            "PushService",
            "TalkService"
        ])
    );
    for (service, method) in &methods {
        let base = base_of(service).context("a service of Talk")?;
        for authorization in [
            None,
            Some(format!("Bearer {forged}")),
            Some(format!("Bearer {agent_token}")),
            Some("Bearer garbage".to_owned()),
        ] {
            let status = status_of(&http, &base, service, method, authorization.as_deref()).await?;
            assert_eq!(
                status, "16",
                "{service}/{method} with {authorization:?}: UNAUTHENTICATED expected"
            );
        }
    }
    // Nothing changed.
    assert_eq!(admin.get("/v1.0/agents").await?, agents_before);
    assert_eq!(admin.get("/v1.0/talks").await?, talks_before);

    // The deployment's own token gets through (the empty message is then
    // refused by the method itself, not by the guard).
    let internal = talk_runtime::Internal::from_config("test", &cluster.config);
    let channel = talk_runtime::channel(&cluster.config.agent_service_url, &internal)?;
    let mut agents = talk_proto::agent_service_client::AgentServiceClient::new(channel);
    let login = agents
        .login(talk_proto::LoginRequest {
            username: "admin".into(),
            password: ADMIN_PASSWORD.into(),
        })
        .await?;
    assert!(!login.into_inner().token.is_empty());
    Ok(())
}
