//! Internal calls prove who is calling: every method of every service, called
//! over gRPC on loopback with no credential, a forged one (another secret) or
//! an agent's token instead of an internal one, answers UNAUTHENTICATED and
//! changes nothing; with the deployment's internal token it reaches the service.
//! The caller is the agent the token acts for, never a field of the message:
//! acting for another customer's agent, for an agent without the role, or for
//! nobody, every method refuses and changes nothing.

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
    let push = cluster.push_service_url();
    let base_of = |service: &str| match service {
        "AgentService" | "AccessKeyService" => Some(cluster.config.agent_service_url.clone()),
        "TalkService" | "ArchiveService" | "DirectoryService" | "SignalService" => {
            Some(cluster.config.talk_service_url.clone())
        }
        "MessageService" | "SearchService" | "ReceiptService" => {
            Some(cluster.config.message_service_url.clone())
        }
        "PushService" => Some(push.clone()),
        "WebhookService" => Some(cluster.config.webhook_service_url.clone()),
        "FileService" => Some(cluster.config.file_service_url.clone()),
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
            "AccessKeyService",
            "AgentService",
            "ArchiveService",
            "DirectoryService",
            "FileService",
            "MessageService",
            "PushService",
            "ReceiptService",
            "SearchService",
            "SignalService",
            "TalkService",
            "WebhookService"
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

/// The code a call answered (OK for an answer).
fn code<T>(result: Result<tonic::Response<T>, tonic::Status>) -> tonic::Code {
    result.map_or_else(|s| s.code(), |_| tonic::Code::Ok)
}

/// The wire caller for an agent, as `/v1.0/me` describes it.
async fn caller_of(api: &Api) -> anyhow::Result<talk_proto::Caller> {
    let me = api.get("/v1.0/me").await?;
    Ok(talk_proto::Caller {
        agent_id: me["id"].as_str().context("id")?.to_owned(),
        customer_id: me["customer_id"]
            .as_str()
            .context("customer_id")?
            .to_owned(),
        permission: u32::try_from(me["permission"].as_u64().context("permission")?)?,
    })
}

/// Every method of every service, called by a process holding the
/// deployment's secret (the internal token is valid) but acting for an agent
/// of another customer, for an agent of the customer without the right role
/// or membership, or for nobody where an agent is needed, and every
/// service-only method acting for an agent: each answers NOT_FOUND,
/// PERMISSION_DENIED or UNAUTHENTICATED (or the 400 a public call gets: an
/// agent of another customer is no agent; only public talks are joined), and
/// the tables read the same after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one table of every method
async fn every_method_refuses_other_customers_wrong_roles_and_no_agent() -> anyhow::Result<()> {
    use talk_proto as pb;
    use talk_runtime::grpc::acting;
    use tonic::Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};

    let cluster = Cluster::start(Topology::Services { nats_url: None }).await?;
    let admin = Api::login(&cluster.edge, "admin", ADMIN_PASSWORD).await?;
    let (_, alice_api) = admin.create_agent("alice", "Alice").await?;
    let (_, bob_api) = admin.create_agent("bob", "Bob").await?;
    let (_, carol_api) = admin.create_agent("carol", "Carol").await?;
    let zora_api = cluster.other_customer("zora", "Zora").await?;
    let (alice, bob, carol, zora) = (
        caller_of(&alice_api).await?,
        caller_of(&bob_api).await?,
        caller_of(&carol_api).await?,
        caller_of(&zora_api).await?,
    );
    // Alice owns a group with Bob and has posted (and reacted) in it.
    let group = alice_api
        .post(
            "/v1.0/talks",
            serde_json::json!({"type": "group", "name": "g", "participants": [
                {"owner_type": "agent", "owner_id": bob.agent_id}]}),
            201,
        )
        .await?;
    let talk_id = group["id"].as_str().context("talk id")?.to_owned();
    let message = alice_api
        .post(
            &format!("/v1.0/talks/{talk_id}/messages"),
            serde_json::json!({"text": "hello"}),
            201,
        )
        .await?;
    let message_id = message["id"].as_str().context("message id")?.to_owned();
    alice_api
        .post(
            &format!("/v1.0/messages/{message_id}/reactions"),
            serde_json::json!({"emoji": "👍"}),
            200,
        )
        .await?;
    let participants = alice_api
        .get(&format!("/v1.0/talks/{talk_id}/participants"))
        .await?;
    let webhook = admin
        .post(
            "/v1.0/webhooks",
            serde_json::json!({"url": "http://127.0.0.1:9/hook"}),
            200,
        )
        .await?;
    let webhook_id = webhook["id"].as_str().context("webhook id")?.to_owned();
    let alice_participant = participants
        .as_array()
        .context("participants")?
        .iter()
        .find(|p| p["owner_id"] == alice.agent_id.as_str())
        .and_then(|p| p["id"].as_str())
        .context("alice's participant")?
        .to_owned();

    let alice_key_token = alice_api
        .post(
            "/v1.0/accesskeys",
            serde_json::json!({"name": "alice's"}),
            200,
        )
        .await?["token"]
        .as_str()
        .context("alice's key token")?
        .to_owned();
    let tables = || async {
        anyhow::Ok((
            admin.get("/v1.0/accesskeys").await?,
            alice_api.get("/v1.0/accesskeys").await?,
            admin.get("/v1.0/agents").await?,
            zora_api.get("/v1.0/agents").await?,
            alice_api.get(&format!("/v1.0/talks/{talk_id}")).await?,
            alice_api
                .get(&format!("/v1.0/talks/{talk_id}/participants"))
                .await?,
            alice_api
                .get(&format!("/v1.0/talks/{talk_id}/messages"))
                .await?,
            bob_api.get("/v1.0/talks?status=all").await?,
            admin.get("/v1.0/talk_settings").await?,
            admin.get("/v1.0/webhooks").await?,
        ))
    };
    let before = tables().await?;

    let internal = talk_runtime::Internal::from_config("test", &cluster.config);
    let config = &cluster.config;
    let mut agents = pb::agent_service_client::AgentServiceClient::new(talk_runtime::channel(
        &config.agent_service_url,
        &internal,
    )?);
    let mut talks = pb::talk_service_client::TalkServiceClient::new(talk_runtime::channel(
        &config.talk_service_url,
        &internal,
    )?);
    let mut messages = pb::message_service_client::MessageServiceClient::new(
        talk_runtime::channel(&config.message_service_url, &internal)?,
    );
    let mut archive = pb::archive_service_client::ArchiveServiceClient::new(talk_runtime::channel(
        &config.talk_service_url,
        &internal,
    )?);
    let mut keys = pb::access_key_service_client::AccessKeyServiceClient::new(
        talk_runtime::channel(&config.agent_service_url, &internal)?,
    );
    let mut push = pb::push_service_client::PushServiceClient::new(talk_runtime::channel(
        &cluster.push_service_url(),
        &internal,
    )?);

    let mut checked = BTreeSet::new();
    let mut check = |method: &str, who: &str, got: tonic::Code, want: tonic::Code| {
        assert_eq!(got, want, "{method} acting for {who}");
        checked.insert(method.to_owned());
    };
    let talk_ref = || pb::TalkRef {
        talk_id: talk_id.clone(),
    };
    let talk_write = || pb::TalkWrite {
        options: None,
        talk_id: talk_id.clone(),
    };
    let message_ref = || pb::MessageRef {
        message_id: message_id.clone(),
    };
    let reaction = || pb::ReactionRequest {
        options: None,
        message_id: message_id.clone(),
        emoji: "👍".into(),
    };

    // AgentService.
    let get_alice = || pb::GetAgentRequest {
        agent_id: alice.agent_id.clone(),
    };
    let got = code(agents.get_agent(acting(zora.clone(), get_alice())).await);
    check("GetAgent", "another customer", got, NotFound);
    let got = code(agents.get_agent(tonic::Request::new(get_alice())).await);
    check("GetAgent", "nobody", got, Unauthenticated);
    let create = || pb::CreateAgentRequest {
        username: "mallory".into(),
        password: "mallory-password".into(),
        ..Default::default()
    };
    let got = code(agents.create_agent(acting(bob.clone(), create())).await);
    check("CreateAgent", "a plain agent", got, PermissionDenied);
    let got = code(agents.create_agent(tonic::Request::new(create())).await);
    check("CreateAgent", "nobody", got, Unauthenticated);
    let update = || pb::UpdateAgentRequest {
        agent_id: alice.agent_id.clone(),
        name: Some("Mallory".into()),
        permission: Some(32),
        ..Default::default()
    };
    let got = code(agents.update_agent(acting(zora.clone(), update())).await);
    check("UpdateAgent", "another customer", got, NotFound);
    let got = code(agents.update_agent(acting(bob.clone(), update())).await);
    check("UpdateAgent", "a plain agent", got, PermissionDenied);
    let delete = || pb::DeleteAgentRequest {
        options: None,
        agent_id: alice.agent_id.clone(),
    };
    let got = code(agents.delete_agent(acting(zora.clone(), delete())).await);
    check("DeleteAgent", "another customer", got, NotFound);
    let got = code(agents.delete_agent(acting(bob.clone(), delete())).await);
    check("DeleteAgent", "a plain agent", got, PermissionDenied);
    let listed = agents
        .list_agents(acting(zora.clone(), pb::ListAgentsRequest::default()))
        .await?
        .into_inner();
    assert!(
        listed
            .agents
            .iter()
            .all(|a| a.customer_id == zora.customer_id),
        "another customer lists only its own agents"
    );
    let got = code(
        agents
            .list_agents(tonic::Request::new(pb::ListAgentsRequest::default()))
            .await,
    );
    check("ListAgents", "nobody", got, Unauthenticated);
    let resolve = || pb::ResolveAgentsRequest {
        agent_ids: vec![alice.agent_id.clone()],
    };
    let resolved = agents
        .resolve_agents(acting(zora.clone(), resolve()))
        .await?
        .into_inner();
    assert!(
        resolved.agents.is_empty(),
        "another customer resolves no one"
    );
    assert_eq!(resolved.missing, vec![alice.agent_id.clone()]);
    let got = code(agents.resolve_agents(tonic::Request::new(resolve())).await);
    check("ResolveAgents", "nobody", got, Unauthenticated);
    // Logout and ChangePassword only ever touch the agent the call acts for.
    let got = code(
        agents
            .logout(tonic::Request::new(pb::LogoutRequest::default()))
            .await,
    );
    check("Logout", "nobody", got, Unauthenticated);
    let change = || pb::ChangePasswordRequest {
        current_password: "not-bobs-password".into(),
        password: "bob-new-password".into(),
        ..Default::default()
    };
    let got = code(agents.change_password(acting(bob.clone(), change())).await);
    check(
        "ChangePassword",
        "the wrong current password",
        got,
        Unauthenticated,
    );
    let got = code(agents.change_password(tonic::Request::new(change())).await);
    check("ChangePassword", "nobody", got, Unauthenticated);
    let login = || pb::LoginRequest {
        username: "alice".into(),
        password: "alice-password".into(),
    };
    let got = code(agents.login(acting(zora.clone(), login())).await);
    check("Login", "an agent", got, PermissionDenied);
    let refresh = pb::RefreshRequest {
        refresh_token: "any".into(),
    };
    let got = code(agents.refresh(acting(zora.clone(), refresh)).await);
    check("Refresh", "an agent", got, PermissionDenied);
    let states = || pb::TokenStatesRequest {
        agent_ids: vec![alice.agent_id.clone()],
    };
    let got = code(agents.token_states(acting(bob.clone(), states())).await);
    check("TokenStates", "an agent", got, PermissionDenied);

    // AccessKeyService: Alice's key, seen from another customer, a plain
    // agent of hers, and nobody.
    let alice_key = keys
        .list_access_keys(acting(alice.clone(), pb::ListAccessKeysRequest::default()))
        .await?
        .into_inner()
        .access_keys
        .first()
        .map(|k| k.id.clone())
        .context("alice's key")?;
    let key_ref = || pb::AccessKeyRef {
        access_key_id: alice_key.clone(),
    };
    for (who, caller, want) in [
        ("another customer", &zora, NotFound),
        ("another agent", &bob, NotFound),
    ] {
        let got = code(keys.get_access_key(acting(caller.clone(), key_ref())).await);
        check("GetAccessKey", who, got, want);
        let update = pb::UpdateAccessKeyRequest {
            access_key_id: alice_key.clone(),
            name: Some("mallory's".into()),
            ..Default::default()
        };
        let got = code(keys.update_access_key(acting(caller.clone(), update)).await);
        check("UpdateAccessKey", who, got, want);
        let delete = pb::AccessKeyWrite {
            options: None,
            access_key_id: alice_key.clone(),
        };
        let got = code(keys.delete_access_key(acting(caller.clone(), delete)).await);
        check("DeleteAccessKey", who, got, want);
    }
    let got = code(keys.get_access_key(tonic::Request::new(key_ref())).await);
    check("GetAccessKey", "nobody", got, Unauthenticated);
    let for_alice = || pb::CreateAccessKeyRequest {
        agent_id: alice.agent_id.clone(),
        ..Default::default()
    };
    let got = code(
        keys.create_access_key(acting(bob.clone(), for_alice()))
            .await,
    );
    check(
        "CreateAccessKey",
        "a plain agent for another",
        got,
        PermissionDenied,
    );
    let got = code(
        keys.create_access_key(acting(zora.clone(), for_alice()))
            .await,
    );
    check("CreateAccessKey", "another customer", got, InvalidArgument);
    let got = code(
        keys.create_access_key(tonic::Request::new(for_alice()))
            .await,
    );
    check("CreateAccessKey", "nobody", got, Unauthenticated);
    for (who, caller) in [("another customer", &zora), ("another agent", &bob)] {
        let listed = keys
            .list_access_keys(acting(caller.clone(), pb::ListAccessKeysRequest::default()))
            .await?
            .into_inner();
        assert!(
            listed.access_keys.iter().all(|k| k.id != alice_key),
            "{who} lists Alice's key"
        );
    }
    let got = code(
        keys.list_access_keys(tonic::Request::new(pb::ListAccessKeysRequest::default()))
            .await,
    );
    check("ListAccessKeys", "nobody", got, Unauthenticated);
    let verify = pb::VerifyAccessKeyRequest {
        token: alice_key_token.clone(),
    };
    let got = code(keys.verify_access_key(acting(zora.clone(), verify)).await);
    check("VerifyAccessKey", "an agent", got, PermissionDenied);
    let key_states = pb::AccessKeyStatesRequest {
        access_key_ids: vec![alice_key.clone()],
    };
    let got = code(
        keys.access_key_states(acting(bob.clone(), key_states))
            .await,
    );
    check("AccessKeyStates", "an agent", got, PermissionDenied);

    // TalkService.
    let got = code(talks.get_talk(acting(zora.clone(), talk_ref())).await);
    check("GetTalk", "another customer", got, NotFound);
    let got = code(talks.get_talk(acting(carol.clone(), talk_ref())).await);
    check(
        "GetTalk",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let got = code(talks.get_talk(tonic::Request::new(talk_ref())).await);
    check("GetTalk", "nobody", got, Unauthenticated);
    let create = || pb::CreateTalkRequest {
        r#type: "group".into(),
        participants: vec![pb::ParticipantRef {
            owner_type: "agent".into(),
            owner_id: alice.agent_id.clone(),
        }],
        ..Default::default()
    };
    let got = code(talks.create_talk(acting(zora.clone(), create())).await);
    // Naming an agent of another customer is naming no agent (400 UNKNOWN_AGENT).
    check("CreateTalk", "another customer", got, InvalidArgument);
    let got = code(talks.create_talk(tonic::Request::new(create())).await);
    check("CreateTalk", "nobody", got, Unauthenticated);
    for (method, zora_talks) in [
        (
            "ListTalks",
            talks
                .list_talks(acting(zora.clone(), pb::ListTalksRequest::default()))
                .await?,
        ),
        (
            "ListChannels",
            talks
                .list_channels(acting(zora.clone(), pb::ListTalksRequest::default()))
                .await?,
        ),
    ] {
        assert!(
            zora_talks
                .into_inner()
                .talks
                .iter()
                .all(|t| t.id != talk_id),
            "{method}: another customer never sees the group"
        );
    }
    let got = code(
        talks
            .list_talks(tonic::Request::new(pb::ListTalksRequest::default()))
            .await,
    );
    check("ListTalks", "nobody", got, Unauthenticated);
    let got = code(
        talks
            .list_channels(tonic::Request::new(pb::ListTalksRequest::default()))
            .await,
    );
    check("ListChannels", "nobody", got, Unauthenticated);
    let rename = || pb::UpdateTalkRequest {
        talk_id: talk_id.clone(),
        name: Some("taken".into()),
        ..Default::default()
    };
    let got = code(talks.update_talk(acting(zora.clone(), rename())).await);
    check("UpdateTalk", "another customer", got, NotFound);
    let got = code(talks.update_talk(acting(bob.clone(), rename())).await);
    check("UpdateTalk", "a plain member", got, PermissionDenied);
    for (method, zora_got, bob_got) in [
        (
            "DeleteTalk",
            code(talks.delete_talk(acting(zora.clone(), talk_write())).await),
            code(talks.delete_talk(acting(bob.clone(), talk_write())).await),
        ),
        (
            "CloseTalk",
            code(talks.close_talk(acting(zora.clone(), talk_write())).await),
            code(talks.close_talk(acting(bob.clone(), talk_write())).await),
        ),
        (
            "ReopenTalk",
            code(talks.reopen_talk(acting(zora.clone(), talk_write())).await),
            code(talks.reopen_talk(acting(bob.clone(), talk_write())).await),
        ),
    ] {
        check(method, "another customer", zora_got, NotFound);
        check(method, "a plain member", bob_got, PermissionDenied);
    }
    let got = code(talks.join_talk(acting(zora.clone(), talk_write())).await);
    check("JoinTalk", "another customer", got, NotFound);
    // Only a public talk is joined (400 NOT_PUBLIC); a group is added to.
    let got = code(talks.join_talk(acting(carol.clone(), talk_write())).await);
    check(
        "JoinTalk",
        "an agent outside the group",
        got,
        InvalidArgument,
    );
    let got = code(talks.leave_talk(acting(zora.clone(), talk_write())).await);
    check("LeaveTalk", "another customer", got, NotFound);
    let got = code(talks.leave_talk(tonic::Request::new(talk_write())).await);
    check("LeaveTalk", "nobody", got, Unauthenticated);
    let add = |who: &talk_proto::Caller| pb::AddParticipantRequest {
        options: None,
        talk_id: talk_id.clone(),
        participant: Some(pb::ParticipantRef {
            owner_type: "agent".into(),
            owner_id: who.agent_id.clone(),
        }),
    };
    let got = code(
        talks
            .add_participant(acting(zora.clone(), add(&zora)))
            .await,
    );
    check("AddParticipant", "another customer", got, NotFound);
    let got = code(
        talks
            .add_participant(acting(carol.clone(), add(&carol)))
            .await,
    );
    check(
        "AddParticipant",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let remove = || pb::RemoveParticipantRequest {
        options: None,
        talk_id: talk_id.clone(),
        participant_id: alice_participant.clone(),
    };
    let got = code(
        talks
            .remove_participant(acting(zora.clone(), remove()))
            .await,
    );
    check("RemoveParticipant", "another customer", got, NotFound);
    let got = code(
        talks
            .remove_participant(acting(bob.clone(), remove()))
            .await,
    );
    check("RemoveParticipant", "a plain member", got, PermissionDenied);
    let set_role = || pb::SetParticipantRoleRequest {
        options: None,
        talk_id: talk_id.clone(),
        participant_id: alice_participant.clone(),
        role: "member".into(),
    };
    let got = code(
        talks
            .set_participant_role(acting(zora.clone(), set_role()))
            .await,
    );
    check("SetParticipantRole", "another customer", got, NotFound);
    let got = code(
        talks
            .set_participant_role(acting(bob.clone(), set_role()))
            .await,
    );
    check(
        "SetParticipantRole",
        "a plain member",
        got,
        PermissionDenied,
    );
    let got = code(
        talks
            .list_participants(acting(zora.clone(), talk_ref()))
            .await,
    );
    check("ListParticipants", "another customer", got, NotFound);
    let got = code(
        talks
            .list_participants(acting(carol.clone(), talk_ref()))
            .await,
    );
    check(
        "ListParticipants",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let got = code(talks.check_access(acting(zora.clone(), talk_ref())).await);
    check("CheckAccess", "another customer", got, NotFound);
    let got = code(talks.check_access(acting(carol.clone(), talk_ref())).await);
    check(
        "CheckAccess",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let query = || pb::AccessQuery {
        talk_id: talk_id.clone(),
        callers: vec![alice.clone()],
    };
    let got = code(talks.check_access_many(acting(zora.clone(), query())).await);
    check("CheckAccessMany", "an agent", got, PermissionDenied);
    let memberships = || pb::ListMembershipsRequest {
        agent_id: alice.agent_id.clone(),
        customer_id: alice.customer_id.clone(),
    };
    let got = code(
        talks
            .list_memberships(acting(zora.clone(), memberships()))
            .await,
    );
    check("ListMemberships", "an agent", got, PermissionDenied);

    // ArchiveService.
    let settings = archive
        .get_talk_settings(acting(zora.clone(), pb::GetTalkSettingsRequest {}))
        .await?
        .into_inner();
    assert_eq!(
        settings.customer_id, zora.customer_id,
        "another customer reads its own settings"
    );
    let got = code(
        archive
            .get_talk_settings(tonic::Request::new(pb::GetTalkSettingsRequest {}))
            .await,
    );
    check("GetTalkSettings", "nobody", got, Unauthenticated);
    let archive_daily = || pb::UpdateTalkSettingsRequest {
        archive_inactive_days: Some(1),
    };
    let got = code(
        archive
            .update_talk_settings(acting(bob.clone(), archive_daily()))
            .await,
    );
    check("UpdateTalkSettings", "a plain agent", got, PermissionDenied);
    let got = code(
        archive
            .update_talk_settings(tonic::Request::new(archive_daily()))
            .await,
    );
    check("UpdateTalkSettings", "nobody", got, Unauthenticated);
    let sweep = || pb::ArchiveInactiveRequest {
        now_micros: i64::MAX / 2,
    };
    let got = code(
        archive
            .archive_inactive(acting(zora.clone(), sweep()))
            .await,
    );
    check("ArchiveInactive", "an agent", got, PermissionDenied);
    let admin_caller = caller_of(&admin).await?;
    let got = code(
        archive
            .archive_inactive(acting(admin_caller, sweep()))
            .await,
    );
    check("ArchiveInactive", "an admin", got, PermissionDenied);
    let by_status = || pb::ListTalksByStatusRequest {
        page: None,
        status: "all".into(),
    };
    let listed = archive
        .list_talks_by_status(acting(zora.clone(), by_status()))
        .await?
        .into_inner();
    assert!(
        listed.talks.iter().all(|t| t.id != talk_id),
        "ListTalksByStatus: another customer never sees the group"
    );
    let got = code(
        archive
            .list_talks_by_status(tonic::Request::new(by_status()))
            .await,
    );
    check("ListTalksByStatus", "nobody", got, Unauthenticated);

    // MessageService.
    let post = || pb::PostMessageRequest {
        talk_id: talk_id.clone(),
        text: "sneaking in".into(),
        ..Default::default()
    };
    let got = code(messages.post_message(acting(zora.clone(), post())).await);
    check("PostMessage", "another customer", got, NotFound);
    let got = code(messages.post_message(acting(carol.clone(), post())).await);
    check(
        "PostMessage",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let got = code(messages.post_message(tonic::Request::new(post())).await);
    check("PostMessage", "nobody", got, Unauthenticated);
    for (method, zora_got, carol_got) in [
        (
            "GetMessage",
            code(
                messages
                    .get_message(acting(zora.clone(), message_ref()))
                    .await,
            ),
            code(
                messages
                    .get_message(acting(carol.clone(), message_ref()))
                    .await,
            ),
        ),
        (
            "ListThread",
            code(
                messages
                    .list_thread(acting(zora.clone(), message_ref()))
                    .await,
            ),
            code(
                messages
                    .list_thread(acting(carol.clone(), message_ref()))
                    .await,
            ),
        ),
        (
            "ListHistory",
            code(
                messages
                    .list_history(acting(zora.clone(), message_ref()))
                    .await,
            ),
            code(
                messages
                    .list_history(acting(carol.clone(), message_ref()))
                    .await,
            ),
        ),
        (
            "AddReaction",
            code(
                messages
                    .add_reaction(acting(zora.clone(), reaction()))
                    .await,
            ),
            code(
                messages
                    .add_reaction(acting(carol.clone(), reaction()))
                    .await,
            ),
        ),
        (
            "RemoveReaction",
            code(
                messages
                    .remove_reaction(acting(zora.clone(), reaction()))
                    .await,
            ),
            code(
                messages
                    .remove_reaction(acting(carol.clone(), reaction()))
                    .await,
            ),
        ),
    ] {
        check(method, "another customer", zora_got, NotFound);
        check(
            method,
            "an agent outside the group",
            carol_got,
            PermissionDenied,
        );
    }
    let list = || pb::ListMessagesRequest {
        talk_id: talk_id.clone(),
        page: None,
    };
    let got = code(messages.list_messages(acting(zora.clone(), list())).await);
    check("ListMessages", "another customer", got, NotFound);
    let got = code(messages.list_messages(acting(carol.clone(), list())).await);
    check(
        "ListMessages",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let changes = || pb::ListChangesRequest {
        talk_id: talk_id.clone(),
        after_seq: 0,
        limit: 100,
    };
    let got = code(messages.list_changes(acting(zora.clone(), changes())).await);
    check("ListChanges", "another customer", got, NotFound);
    let got = code(
        messages
            .list_changes(acting(carol.clone(), changes()))
            .await,
    );
    check(
        "ListChanges",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let edit = || pb::EditMessageRequest {
        options: None,
        message_id: message_id.clone(),
        text: "rewritten".into(),
    };
    let got = code(messages.edit_message(acting(zora.clone(), edit())).await);
    check("EditMessage", "another customer", got, NotFound);
    let got = code(messages.edit_message(acting(bob.clone(), edit())).await);
    check(
        "EditMessage",
        "a member who is not the author",
        got,
        PermissionDenied,
    );
    let delete = || pb::MessageWrite {
        options: None,
        message_id: message_id.clone(),
    };
    let got = code(
        messages
            .delete_message(acting(zora.clone(), delete()))
            .await,
    );
    check("DeleteMessage", "another customer", got, NotFound);
    let got = code(messages.delete_message(acting(bob.clone(), delete())).await);
    check(
        "DeleteMessage",
        "a member who is not the author",
        got,
        PermissionDenied,
    );
    let read = || pb::MarkReadRequest {
        options: None,
        talk_id: talk_id.clone(),
        seq: 1,
    };
    let got = code(messages.mark_read(acting(zora.clone(), read())).await);
    check("MarkRead", "another customer", got, NotFound);
    let got = code(messages.mark_read(acting(carol.clone(), read())).await);
    check(
        "MarkRead",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let unread = || pb::UnreadCountsRequest {
        talk_ids: vec![talk_id.clone()],
    };
    let counted = messages
        .unread_counts(acting(zora.clone(), unread()))
        .await?
        .into_inner();
    assert!(
        counted.states.iter().all(|s| s.last_seq == 0),
        "another customer learns nothing of the group: {counted:?}"
    );
    let got = code(messages.unread_counts(tonic::Request::new(unread())).await);
    check("UnreadCounts", "nobody", got, Unauthenticated);
    let deleted = || pb::DeletedAmongRequest {
        customer_id: alice.customer_id.clone(),
        message_ids: vec![message_id.clone()],
    };
    let got = code(
        messages
            .deleted_among(acting(zora.clone(), deleted()))
            .await,
    );
    check("DeletedAmong", "an agent", got, PermissionDenied);

    // PushService.
    let got = code(push.stats(acting(bob.clone(), pb::StatsRequest {})).await);
    check("Stats", "an agent", got, PermissionDenied);
    let disconnect = pb::DisconnectAgentRequest {
        agent_id: alice.agent_id.clone(),
    };
    let got = code(push.disconnect_agent(acting(bob.clone(), disconnect)).await);
    check("DisconnectAgent", "an agent", got, PermissionDenied);

    // WebhookService: admins of the webhook's customer only.
    let mut webhooks = pb::webhook_service_client::WebhookServiceClient::new(
        talk_runtime::channel(&config.webhook_service_url, &internal)?,
    );
    let create = || pb::CreateWebhookRequest {
        url: "http://127.0.0.1:9/sneaky".into(),
        ..Default::default()
    };
    let got = code(webhooks.create_webhook(acting(bob.clone(), create())).await);
    check("CreateWebhook", "a plain agent", got, PermissionDenied);
    let got = code(webhooks.create_webhook(tonic::Request::new(create())).await);
    check("CreateWebhook", "nobody", got, Unauthenticated);
    let listed = webhooks
        .list_webhooks(acting(zora.clone(), pb::ListWebhooksRequest { page: None }))
        .await?
        .into_inner();
    assert!(
        listed.webhooks.is_empty(),
        "ListWebhooks: another customer never sees the webhook"
    );
    let got = code(
        webhooks
            .list_webhooks(acting(bob.clone(), pb::ListWebhooksRequest { page: None }))
            .await,
    );
    check("ListWebhooks", "a plain agent", got, PermissionDenied);
    let one = || pb::GetWebhookRequest {
        id: webhook_id.clone(),
    };
    let write = || pb::WebhookWrite {
        id: webhook_id.clone(),
        options: None,
    };
    let update = || pb::UpdateWebhookRequest {
        id: webhook_id.clone(),
        url: "http://127.0.0.1:9/sneaky".into(),
        enabled: false,
        ..Default::default()
    };
    let log = || pb::ListWebhookDeliveriesRequest {
        webhook_id: webhook_id.clone(),
        ..Default::default()
    };
    let replay = || pb::ReplayWebhookRequest {
        webhook_id: webhook_id.clone(),
        after_seq: 0,
        since_micros: 1,
        options: None,
    };
    for (who, caller, want) in [
        ("another customer's admin", Some(zora.clone()), NotFound),
        ("a plain agent", Some(bob.clone()), PermissionDenied),
        ("nobody", None, Unauthenticated),
    ] {
        let request = |message| match &caller {
            Some(caller) => acting(caller.clone(), message),
            None => tonic::Request::new(message),
        };
        let writing = |message| match &caller {
            Some(caller) => acting(caller.clone(), message),
            None => tonic::Request::new(message),
        };
        let got = code(webhooks.get_webhook(request(one())).await);
        check("GetWebhook", who, got, want);
        let got = code(
            webhooks
                .update_webhook(match &caller {
                    Some(caller) => acting(caller.clone(), update()),
                    None => tonic::Request::new(update()),
                })
                .await,
        );
        check("UpdateWebhook", who, got, want);
        let got = code(webhooks.delete_webhook(writing(write())).await);
        check("DeleteWebhook", who, got, want);
        let got = code(webhooks.rotate_webhook_secret(writing(write())).await);
        check("RotateWebhookSecret", who, got, want);
        let got = code(webhooks.test_webhook(writing(write())).await);
        check("TestWebhook", who, got, want);
        let got = code(
            webhooks
                .list_webhook_deliveries(match &caller {
                    Some(caller) => acting(caller.clone(), log()),
                    None => tonic::Request::new(log()),
                })
                .await,
        );
        check("ListWebhookDeliveries", who, got, want);
        let got = code(
            webhooks
                .replay_webhook(match &caller {
                    Some(caller) => acting(caller.clone(), replay()),
                    None => tonic::Request::new(replay()),
                })
                .await,
        );
        check("ReplayWebhook", who, got, want);
    }

    // SearchService and DirectoryService: another customer's agent finds
    // nothing of this customer; nobody is refused.
    let mut search = pb::search_service_client::SearchServiceClient::new(talk_runtime::channel(
        &config.message_service_url,
        &internal,
    )?);
    let mut directory = pb::directory_service_client::DirectoryServiceClient::new(
        talk_runtime::channel(&config.talk_service_url, &internal)?,
    );
    let hello = || pb::SearchMessagesRequest {
        query: "hello".into(),
        ..Default::default()
    };
    let hits = search
        .search_messages(acting(zora.clone(), hello()))
        .await?
        .into_inner();
    assert!(
        hits.hits.is_empty(),
        "SearchMessages: another customer finds nothing"
    );
    let got = code(search.search_messages(tonic::Request::new(hello())).await);
    check("SearchMessages", "nobody", got, Unauthenticated);
    let listed = search
        .list_mentions(acting(zora.clone(), pb::ListMentionsRequest::default()))
        .await?
        .into_inner();
    assert!(
        listed.messages.is_empty(),
        "ListMentions: another customer lists nothing"
    );
    let got = code(
        search
            .list_mentions(tonic::Request::new(pb::ListMentionsRequest::default()))
            .await,
    );
    check("ListMentions", "nobody", got, Unauthenticated);
    let counts = || pb::MentionCountsRequest {
        talk_ids: vec![talk_id.clone()],
    };
    let counted = search
        .mention_counts(acting(zora.clone(), counts()))
        .await?
        .into_inner();
    assert_eq!(
        counted.counts,
        vec![0],
        "MentionCounts: another customer counts nothing"
    );
    let got = code(search.mention_counts(tonic::Request::new(counts())).await);
    check("MentionCounts", "nobody", got, Unauthenticated);
    let readable = directory
        .readable_talks(acting(zora.clone(), pb::ReadableTalksRequest {}))
        .await?
        .into_inner();
    assert!(
        !readable.talk_ids.contains(&talk_id),
        "ReadableTalks: another customer never reads the group"
    );
    let readable = directory
        .readable_talks(acting(carol.clone(), pb::ReadableTalksRequest {}))
        .await?
        .into_inner();
    assert!(
        !readable.talk_ids.contains(&talk_id),
        "ReadableTalks: an agent outside the group never reads it"
    );
    let got = code(
        directory
            .readable_talks(tonic::Request::new(pb::ReadableTalksRequest {}))
            .await,
    );
    check("ReadableTalks", "nobody", got, Unauthenticated);
    let named = || pb::SearchTalksRequest {
        query: "g".into(),
        ..Default::default()
    };
    let found = directory
        .search_talks(acting(zora.clone(), named()))
        .await?
        .into_inner();
    assert!(
        found.talks.iter().all(|t| t.id != talk_id),
        "SearchTalks: another customer never finds the group"
    );
    let got = code(directory.search_talks(tonic::Request::new(named())).await);
    check("SearchTalks", "nobody", got, Unauthenticated);

    // SignalService: typing only in one's own talks, nothing for nobody.
    let mut signals = pb::signal_service_client::SignalServiceClient::new(talk_runtime::channel(
        &config.talk_service_url,
        &internal,
    )?);
    let typing = || pb::TypingRequest {
        talk_id: talk_id.clone(),
        state: "typing".into(),
    };
    let got = code(signals.send_typing(acting(zora.clone(), typing())).await);
    check("SendTyping", "another customer", got, NotFound);
    let got = code(signals.send_typing(acting(carol.clone(), typing())).await);
    check(
        "SendTyping",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let got = code(signals.send_typing(tonic::Request::new(typing())).await);
    check("SendTyping", "nobody", got, Unauthenticated);
    let announce = || pb::AnnounceStatusRequest {
        agent: String::new(),
        status: "busy".into(),
    };
    let got = code(
        signals
            .announce_status(tonic::Request::new(announce()))
            .await,
    );
    check("AnnounceStatus", "nobody", got, Unauthenticated);

    // FileService: another customer's agent and an agent outside the talk
    // see nothing of Alice's file; nobody uploads; the service-only methods
    // refuse an agent.
    let alices_file = crate::files::upload(&alice_api, "a.txt", "text/plain", b"alice's").await?;
    let file_id = alices_file["id"].as_str().context("file id")?.to_owned();
    let mut files = pb::file_service_client::FileServiceClient::new(talk_runtime::channel(
        &config.file_service_url,
        &internal,
    )?);
    let file_ref = || pb::FileRef {
        file_id: file_id.clone(),
    };
    let file_write = || pb::FileWrite {
        file_id: file_id.clone(),
        options: None,
    };
    let sign = || pb::SignDownloadRequest {
        file_id: file_id.clone(),
        thumbnail: false,
    };
    let attach = || pb::AttachFilesRequest {
        talk_id: talk_id.clone(),
        file_ids: vec![file_id.clone()],
    };
    for (who, caller) in [
        ("another customer", &zora),
        ("an agent outside the talk", &carol),
    ] {
        let got = code(files.get_file(acting(caller.clone(), file_ref())).await);
        check("GetFile", who, got, NotFound);
        let got = code(
            files
                .delete_file(acting(caller.clone(), file_write()))
                .await,
        );
        check("DeleteFile", who, got, NotFound);
        let got = code(files.sign_download(acting(caller.clone(), sign())).await);
        check("SignDownload", who, got, NotFound);
        let got = code(files.attach_files(acting(caller.clone(), attach())).await);
        check("AttachFiles", who, got, PermissionDenied);
        let listed = files
            .list_files(acting(caller.clone(), pb::ListFilesRequest { page: None }))
            .await?
            .into_inner();
        assert!(
            listed.files.is_empty(),
            "ListFiles: {who} sees no file of Alice's"
        );
    }
    let got = code(
        files
            .list_files(tonic::Request::new(pb::ListFilesRequest { page: None }))
            .await,
    );
    check("ListFiles", "nobody", got, Unauthenticated);
    let got = code(
        files
            .upload(tonic::Request::new(futures_util::stream::iter(Vec::<
                pb::UploadPart,
            >::new(
            ))))
            .await,
    );
    check("Upload", "nobody", got, Unauthenticated);
    let got = code(
        files
            .download(acting(
                alice.clone(),
                pb::DownloadRequest {
                    file_id: file_id.clone(),
                    ..Default::default()
                },
            ))
            .await,
    );
    check("Download", "an agent", got, PermissionDenied);
    let got = code(
        files
            .collect_orphans(acting(
                alice.clone(),
                pb::CollectOrphansRequest {
                    before_micros: i64::MAX,
                },
            ))
            .await,
    );
    check("CollectOrphans", "an agent", got, PermissionDenied);
    alice_api.get(&format!("/v1.0/files/{file_id}")).await?;

    // ReceiptService: only who may read the message learns who read it.
    let mut receipts = pb::receipt_service_client::ReceiptServiceClient::new(
        talk_runtime::channel(&config.message_service_url, &internal)?,
    );
    let receipts_of = || pb::ReceiptsRequest {
        message_id: message_id.clone(),
    };
    let got = code(
        receipts
            .list_receipts(acting(zora.clone(), receipts_of()))
            .await,
    );
    check("ListReceipts", "another customer", got, NotFound);
    let got = code(
        receipts
            .list_receipts(acting(carol.clone(), receipts_of()))
            .await,
    );
    check(
        "ListReceipts",
        "an agent outside the group",
        got,
        PermissionDenied,
    );
    let got = code(
        receipts
            .list_receipts(tonic::Request::new(receipts_of()))
            .await,
    );
    check("ListReceipts", "nobody", got, Unauthenticated);

    let every: BTreeSet<String> = every_method()?.into_iter().map(|(_, m)| m).collect();
    assert_eq!(checked, every, "every method is checked");
    assert_eq!(tables().await?, before, "nothing changed");
    // Alice can still log in: nothing of hers was touched.
    Api::login(&cluster.edge, "alice", "alice-password").await?;
    Ok(())
}
