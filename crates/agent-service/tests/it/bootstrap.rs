//! First start creates one admin, however many instances start.

use agent_service::service::bootstrap::{self, Outcome};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::support::{ADMIN_PASSWORD, Harness, Server, TestDb};

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await
        .expect("count")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n")
}

#[tokio::test]
async fn bootstrap_creates_admin_with_configured_password_exactly_once() {
    let db = TestDb::new().await;
    // Two instances starting together on an empty database.
    let (a, b) = tokio::join!(Server::start(db.config()), Server::start(db.config()));
    let conn = db.connect().await;
    assert_eq!(count(&conn, "SELECT COUNT(*) AS n FROM customers").await, 1);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) AS n FROM agents WHERE username = 'admin'"
        )
        .await,
        1
    );
    a.stop().await;
    b.stop().await;

    // A restart with another configured password changes nothing.
    let mut config = db.config();
    config.admin_password = "another-password".into();
    let server = Server::start(config).await;
    assert_eq!(count(&conn, "SELECT COUNT(*) AS n FROM agents").await, 1);
    let h = Harness {
        client: server.client().await,
        server,
        db,
    };
    h.login("admin", ADMIN_PASSWORD)
        .await
        .expect("configured password still works");
    let refused = h
        .login("admin", "another-password")
        .await
        .expect_err("not changed");
    assert_eq!(refused.reason, "INVALID_CREDENTIALS");
    conn.close().await.ok();
    h.stop().await;
}

#[tokio::test]
async fn admin_logs_in_with_configured_password() {
    let h = Harness::start().await;
    let (token, admin) = h.login("admin", ADMIN_PASSWORD).await.expect("login");
    assert!(!token.is_empty());
    assert_eq!(admin.username, "admin");
    assert_eq!(admin.permission, 48);
    assert_eq!(admin.ring_method, "ringall");
    assert_eq!(admin.status, "available");
    assert_eq!(admin.tm_delete, 0);
    h.stop().await;
}

#[tokio::test]
async fn bootstrap_generates_a_password_when_none_is_configured() {
    let db = TestDb::new().await;
    let mut config = db.config();
    config.admin_password = Default::default();
    agent_service::migrate(&config).await.expect("migrate");
    let conn = db.connect().await;
    let Outcome::CreatedWithGenerated(password) =
        bootstrap::run(&conn, "").await.expect("bootstrap")
    else {
        panic!("expected a generated password");
    };
    assert_eq!(password.len(), 20);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        bootstrap::run(&conn, "").await.expect("bootstrap again"),
        Outcome::AlreadyDone
    );

    let server = Server::start(config).await;
    let h = Harness {
        client: server.client().await,
        server,
        db,
    };
    h.login("admin", &password)
        .await
        .expect("login with generated password");
    h.stop().await;
}
