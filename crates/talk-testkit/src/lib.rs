//! Plumbing shared by Talk's tests, so that every suite finds its servers the
//! same way and no test hard-codes an address:
//!
//! - PostgreSQL: the server in `TALK_TEST_PG` ([`pg_base`]), a fresh database
//!   per test ([`fresh_database`]), or a fresh schema name in the `test`
//!   database ([`fresh_schema_name`]);
//! - NATS: the server in `TALK_TEST_NATS` ([`nats_url`]) with a subject
//!   prefix and stream of the test's own ([`fresh_prefix`]), or a private
//!   `nats-server` a test may stop and resume ([`NatsServer`]);
//! - [`wait_ready`]: polls a server's `/readyz` (on its ops port, or its
//!   only port) and fails loudly when the server ended first;
//! - [`free_addr`]: an address for a listener a service binds itself.
//!
//! It depends on no Talk crate: any of them can take it as a dev-dependency.

#![warn(missing_docs)]

mod addr;
mod nats;
mod pg;
mod ready;

pub use addr::free_addr;
pub use nats::{NatsServer, Prefix, fresh_prefix, nats_url};
pub use pg::{drop_database, fresh_database, fresh_schema_name, pg_base, test_database_url};
pub use ready::{exited, task_ended, wait_ready};

/// A random lower-case suffix for names no other test uses.
fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use sea_orm::{ConnectionTrait, Database};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn fresh_names_differ_and_need_no_quoting() {
        let (a, b) = (fresh_schema_name("kit"), fresh_schema_name("kit"));
        assert_ne!(a, b);
        assert!(a.starts_with("kit_"), "{a}");
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
        let (p, q) = (fresh_prefix(), fresh_prefix());
        assert_ne!(p, q);
        assert_eq!(p.subject[1..], p.stream[1..]);
    }

    #[tokio::test]
    async fn a_fresh_database_is_a_test_s_own_and_can_be_dropped() {
        let url = fresh_database().await.unwrap();
        assert!(url.starts_with(&pg_base()), "{url}");
        let db = Database::connect(&url).await.unwrap();
        // A table no other test made: it does not exist yet.
        db.execute_unprepared("CREATE TABLE mine (id int)")
            .await
            .unwrap();
        db.close().await.unwrap();
        drop_database(&url).await.unwrap();
        assert!(Database::connect(&url).await.is_err(), "{url} still exists");
        let not_ours = format!("{}/test", pg_base());
        assert!(drop_database(&not_ours).await.is_err());
    }

    #[tokio::test]
    async fn wait_ready_returns_once_readyz_answers_200() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0; 1024];
                let n = socket.read(&mut request).await.unwrap();
                assert!(request[..n].starts_with(b"GET /readyz "));
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                socket.write_all(answer).await.unwrap();
            }
        });
        wait_ready(&url, None, || None).await.unwrap();
        wait_ready(&url, None, task_ended(&server)).await.unwrap();
        server.abort();
    }

    #[tokio::test]
    async fn wait_ready_fails_at_once_when_the_process_exited() {
        // Nothing listens on the port of a dropped listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("false").spawn().unwrap();
        let log = std::path::Path::new("/tmp/the-log");
        let error = wait_ready(
            &format!("http://127.0.0.1:{port}"),
            Some(log),
            exited(&mut child),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("exited with"), "{error}");
        assert!(error.contains("log in /tmp/the-log"), "{error}");
    }
}
