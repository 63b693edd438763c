//! Access keys on PostgreSQL and on SQLite (the embedded default): created
//! for an agent, verified by their token (never stored), listed by whom may
//! see them, ended by a delete, an expiry or the agent's delete; an agent
//! without a password never logs in.

use talk_config::Config;
use talk_proto::{
    AccessKeyRef, AccessKeyStatesRequest, AccessKeyWrite, Caller, CreateAccessKeyRequest,
    CreateAgentRequest, DeleteAgentRequest, ListAccessKeysRequest, VerifyAccessKeyRequest,
};
use talk_runtime::grpc::acting;

use crate::support::{ADMIN_PASSWORD, Harness, JWT_SECRET, Server, TestDb, api_err, caller};

async fn scenario(h: &Harness) {
    let mut keys = h.server.access_keys();
    let admin = h.admin().await;
    let alice = caller(&h.create(&admin, "alice", 0).await.expect("alice"));
    let bot = h
        .client
        .clone()
        .create_agent(acting(
            admin.clone(),
            CreateAgentRequest {
                username: "bot".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("a bot without a password")
        .into_inner();
    let err = h.login("bot", "").await.expect_err("no password");
    assert_eq!(err.reason, "MISSING_FIELD");
    let err = h.login("bot", "any-password").await.expect_err("a bot");
    assert_eq!(err.reason, "INVALID_CREDENTIALS");

    let create = |by: &Caller, agent_id: &str, expire_secs: Option<i64>| {
        acting(
            by.clone(),
            CreateAccessKeyRequest {
                agent_id: agent_id.to_owned(),
                name: "k".into(),
                expire_secs,
                ..Default::default()
            },
        )
    };
    let key = keys
        .create_access_key(create(&admin, &bot.id, None))
        .await
        .expect("create")
        .into_inner();
    assert!(key.token.starts_with("vb_") && key.token_prefix == key.token[..11]);
    let verified = keys
        .verify_access_key(VerifyAccessKeyRequest {
            token: key.token.clone(),
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(verified.agent.expect("agent").id, bot.id);
    let alices = keys
        .create_access_key(create(&alice, "", Some(3_600)))
        .await
        .expect("alice's own")
        .into_inner();
    assert_ne!(alices.tm_expire, 0);
    let err = api_err(keys.create_access_key(create(&alice, &bot.id, None)).await);
    assert_eq!(err.reason, "PERMISSION_DENIED");

    // Admins list every key of the customer, Alice hers; no token in either.
    let list = |by: &Caller| acting(by.clone(), ListAccessKeysRequest::default());
    let all = keys
        .list_access_keys(list(&admin))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.access_keys.len(), 2);
    assert!(all.access_keys.iter().all(|k| k.token.is_empty()));
    let hers = keys
        .list_access_keys(list(&alice))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(hers.access_keys.len(), 1);
    assert_eq!(hers.access_keys[0].id, alices.id);
    let err = api_err(
        keys.get_access_key(acting(
            alice.clone(),
            AccessKeyRef {
                access_key_id: key.id.clone(),
            },
        ))
        .await,
    );
    assert_eq!(err.reason, "ACCESSKEY_NOT_FOUND");

    // A delete ends the key at once; the agent's delete ends its keys.
    let states = |ids: Vec<String>| AccessKeyStatesRequest {
        access_key_ids: ids,
    };
    let active = keys
        .access_key_states(states(vec![key.id.clone(), alices.id.clone()]))
        .await
        .expect("states")
        .into_inner();
    assert!(active.states.iter().all(|s| s.active));
    keys.delete_access_key(acting(
        alice.clone(),
        AccessKeyWrite {
            options: None,
            access_key_id: alices.id.clone(),
        },
    ))
    .await
    .expect("delete own");
    let err = api_err(
        keys.verify_access_key(VerifyAccessKeyRequest {
            token: alices.token.clone(),
        })
        .await,
    );
    assert_eq!(err.reason, "INVALID_CREDENTIALS");
    h.client
        .clone()
        .delete_agent(acting(
            admin.clone(),
            DeleteAgentRequest {
                options: None,
                agent_id: bot.id.clone(),
            },
        ))
        .await
        .expect("delete the bot");
    let err = api_err(
        keys.verify_access_key(VerifyAccessKeyRequest {
            token: key.token.clone(),
        })
        .await,
    );
    assert_eq!(err.reason, "INVALID_CREDENTIALS");
    let ended = keys
        .access_key_states(states(vec![key.id.clone(), alices.id.clone()]))
        .await
        .expect("states")
        .into_inner();
    assert!(ended.states.iter().all(|s| !s.active), "{ended:?}");
}

#[tokio::test]
async fn access_keys_on_postgres() {
    let h = Harness::start().await;
    scenario(&h).await;
    // Only the hash is stored.
    let db = h.db.connect().await;
    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM access_keys WHERE length(token_hash) = 64",
        ))
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 2);
    h.stop().await;
}

#[tokio::test]
async fn access_keys_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("talk-agent-{}", uuid::Uuid::new_v4().simple()));
    let config = Config {
        data_dir: dir.clone(),
        jwt_secret: JWT_SECRET.into(),
        admin_password: ADMIN_PASSWORD.into(),
        ..Config::default()
    };
    let server = Server::start(config).await;
    let h = Harness {
        client: server.client().await,
        server,
        db: TestDb::none(),
    };
    scenario(&h).await;
    h.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
