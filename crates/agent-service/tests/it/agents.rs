//! Managing agents: create, get, list, update, delete, with permission checks.

use talk_proto::{
    Caller, CreateAgentRequest, DeleteAgentRequest, GetAgentRequest, ListAgentsRequest,
    PageRequest, UpdateAgentRequest,
};
use talk_types::{ErrorKind, time};

use crate::support::{Harness, api_err, caller};

fn create_request(
    by: &Caller,
    username: &str,
    password: &str,
) -> tonic::Request<CreateAgentRequest> {
    talk_runtime::grpc::acting(
        by.clone(),
        CreateAgentRequest {
            options: None,
            username: username.into(),
            password: password.into(),
            name: String::new(),
            detail: String::new(),
            permission: 0,
        },
    )
}

fn update_request(by: &Caller, agent_id: &str) -> tonic::Request<UpdateAgentRequest> {
    talk_runtime::grpc::acting(
        by.clone(),
        UpdateAgentRequest {
            options: None,
            agent_id: agent_id.into(),
            name: None,
            detail: None,
            password: None,
            permission: None,
            ring_method: None,
            status: None,
        },
    )
}

#[tokio::test]
async fn create_validates_and_checks_permissions() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let alice = h
        .create(&admin, "alice@example.com", 0)
        .await
        .expect("alice");
    assert_eq!(alice.permission, 16);
    assert_eq!(alice.customer_id, admin.customer_id);
    assert_eq!(alice.name, "Name of alice@example.com");
    let alice_caller = caller(&alice);

    let err = h
        .create(&alice_caller, "eve", 0)
        .await
        .expect_err("agents cannot create");
    assert_eq!(err.kind, ErrorKind::PermissionDenied);

    let mut client = h.client.clone();
    for (username, password, reason) in [
        ("has space", "long-enough", "INVALID_USERNAME"),
        ("", "long-enough", "INVALID_USERNAME"),
        (&"x".repeat(65), "long-enough", "INVALID_USERNAME"),
        ("shortpw", "short", "INVALID_PASSWORD"),
        ("longpw", &"p".repeat(257), "INVALID_PASSWORD"),
    ] {
        let err = api_err(
            client
                .create_agent(create_request(&admin, username, password))
                .await,
        );
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{username}");
        assert_eq!(err.reason, reason, "{username}");
    }
    let mut long_name = create_request(&admin, "longname", "long-enough");
    long_name.get_mut().name = "n".repeat(256);
    let err = api_err(client.create_agent(long_name).await);
    assert_eq!(err.reason, "FIELD_TOO_LONG");
    assert!(err.message.contains("name"));
    let mut long_detail = create_request(&admin, "longdetail", "long-enough");
    long_detail.get_mut().detail = "d".repeat(4097);
    let err = api_err(client.create_agent(long_detail).await);
    assert_eq!(err.reason, "FIELD_TOO_LONG");
    assert!(err.message.contains("detail"));

    let err = h
        .create(&admin, "alice@example.com", 0)
        .await
        .expect_err("taken");
    assert_eq!(err.kind, ErrorKind::AlreadyExists);
    assert_eq!(err.reason, "USERNAME_TAKEN");

    let err = h
        .create(&admin, "root", 1)
        .await
        .expect_err("no super admin grant");
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    let manager = h.create(&admin, "manager", 64 | 16).await.expect("manager");
    assert_eq!(manager.permission, 80);
    h.stop().await;
}

#[tokio::test]
async fn get_and_paginated_list() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            h.create(&admin, &format!("agent{i}"), 0)
                .await
                .expect("create"),
        );
    }
    let mut client = h.client.clone();
    let got = client
        .get_agent(talk_runtime::grpc::acting(
            caller(&created[0]),
            GetAgentRequest {
                agent_id: created[2].id.clone(),
            },
        ))
        .await
        .expect("any agent of the customer reads another")
        .into_inner();
    assert_eq!(got, created[2]);

    let err = api_err(
        client
            .get_agent(talk_runtime::grpc::acting(
                admin.clone(),
                GetAgentRequest {
                    agent_id: "not-a-uuid".into(),
                },
            ))
            .await,
    );
    assert_eq!(err.reason, "INVALID_ID");

    // Six agents (admin included), newest first, two per page.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_agents(talk_runtime::grpc::acting(
                admin.clone(),
                ListAgentsRequest {
                    page: Some(PageRequest {
                        page_size: 2,
                        page_token: token.clone(),
                    }),
                },
            ))
            .await
            .expect("list")
            .into_inner();
        assert!(page.agents.len() <= 2);
        match page.agents.last() {
            Some(last) => {
                let expected = time::format(&time::from_micros(last.tm_create).expect("ts"));
                assert_eq!(page.next_page_token, expected);
            }
            None => {
                assert_eq!(page.next_page_token, "");
                break;
            }
        }
        seen.extend(page.agents.into_iter().map(|a| a.username));
        token = page.next_page_token;
    }
    assert_eq!(
        seen,
        vec!["agent4", "agent3", "agent2", "agent1", "agent0", "admin"]
    );

    let all = client
        .list_agents(talk_runtime::grpc::acting(
            admin.clone(),
            ListAgentsRequest {
                page: Some(PageRequest {
                    page_size: 1000,
                    page_token: String::new(),
                }),
            },
        ))
        .await
        .expect("oversized page size means 100")
        .into_inner();
    assert_eq!(all.agents.len(), 6);

    let err = api_err(
        client
            .list_agents(talk_runtime::grpc::acting(
                admin,
                ListAgentsRequest {
                    page: Some(PageRequest {
                        page_size: 2,
                        page_token: "yesterday".into(),
                    }),
                },
            ))
            .await,
    );
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(err.reason, "INVALID_REQUEST_PARAMETER");
    h.stop().await;
}

#[tokio::test]
async fn update_by_self_and_by_admin() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let alice = h.create(&admin, "alice", 0).await.expect("alice");
    let bob = h.create(&admin, "bob", 0).await.expect("bob");
    let me = caller(&alice);
    let mut client = h.client.clone();

    // An agent changes its own name, detail and password.
    let mut own = update_request(&me, &alice.id);
    own.get_mut().name = Some("Alice A.".into());
    own.get_mut().detail = Some("support".into());
    own.get_mut().password = Some("alice-new-password".into());
    let updated = client
        .update_agent(own)
        .await
        .expect("own update")
        .into_inner();
    assert_eq!(updated.name, "Alice A.");
    assert_eq!(updated.detail, "support");
    assert!(updated.tm_update >= alice.tm_update);
    assert_eq!(updated.permission, 16);
    h.login("alice", "alice-new-password")
        .await
        .expect("new password works");
    assert!(h.login("alice", "alice-password").await.is_err());

    // ...but not its own permission, nor another agent.
    let mut escalate = update_request(&me, &alice.id);
    escalate.get_mut().permission = Some(48);
    let err = api_err(client.update_agent(escalate).await);
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    let mut other = update_request(&me, &bob.id);
    other.get_mut().name = Some("Bobby".into());
    let err = api_err(client.update_agent(other).await);
    assert_eq!(err.kind, ErrorKind::PermissionDenied);

    // An admin changes anyone's permission, but cannot grant super admin.
    let mut promote = update_request(&admin, &bob.id);
    promote.get_mut().permission = Some(48);
    let promoted = client
        .update_agent(promote)
        .await
        .expect("promote")
        .into_inner();
    assert_eq!(promoted.permission, 48);
    assert_eq!(promoted.name, bob.name);
    let mut superb = update_request(&admin, &bob.id);
    superb.get_mut().permission = Some(1);
    let err = api_err(client.update_agent(superb).await);
    assert_eq!(err.kind, ErrorKind::PermissionDenied);

    let mut invalid = update_request(&admin, &bob.id);
    invalid.get_mut().password = Some("short".into());
    assert_eq!(
        api_err(client.update_agent(invalid).await).reason,
        "INVALID_PASSWORD"
    );
    h.stop().await;
}

#[tokio::test]
async fn delete_is_soft_admin_only_and_never_oneself() {
    let h = Harness::start().await;
    let admin = h.admin().await;
    let alice = h.create(&admin, "alice", 0).await.expect("alice");
    let bob = h.create(&admin, "bob", 0).await.expect("bob");
    let mut client = h.client.clone();
    let delete = |by: &Caller, id: &str| {
        talk_runtime::grpc::acting(
            by.clone(),
            DeleteAgentRequest {
                options: None,
                agent_id: id.into(),
            },
        )
    };

    let err = api_err(client.delete_agent(delete(&caller(&alice), &bob.id)).await);
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    let err = api_err(client.delete_agent(delete(&admin, &admin.agent_id)).await);
    assert_eq!(err.kind.http_status(), 409);
    assert_eq!(err.reason, "CANNOT_DELETE_SELF");

    let deleted = client
        .delete_agent(delete(&admin, &bob.id))
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.id, bob.id);
    assert!(deleted.tm_delete > 0);

    for agent_id in [bob.id.clone()] {
        let err = api_err(
            client
                .get_agent(talk_runtime::grpc::acting(
                    admin.clone(),
                    GetAgentRequest {
                        agent_id: agent_id.clone(),
                    },
                ))
                .await,
        );
        assert_eq!(err.reason, "AGENT_NOT_FOUND");
        let err = api_err(client.delete_agent(delete(&admin, &agent_id)).await);
        assert_eq!(err.reason, "AGENT_NOT_FOUND");
    }
    let page = client
        .list_agents(talk_runtime::grpc::acting(
            admin.clone(),
            ListAgentsRequest { page: None },
        ))
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = page.agents.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, vec!["alice", "admin"]);

    // The username of a deleted agent can be taken again.
    let again = h.create(&admin, "bob", 0).await.expect("bob again");
    assert_ne!(again.id, bob.id);
    h.stop().await;
}
