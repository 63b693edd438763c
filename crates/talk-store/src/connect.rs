//! Connecting with one schema (PostgreSQL) or one file (SQLite) per service.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// The pool settings every connection shares.
fn pool_options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // The pool's default pings every connection it hands out: one more round
        // trip per query outside a transaction. Only a connection idle long enough
        // for the server or a proxy to have dropped it is worth checking.
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    options
}

/// Connects to `url`, creating `schema` on PostgreSQL (or the SQLite file's folder).
pub async fn connect(
    url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = pool_options(url);
    if url.starts_with("postgres") {
        let admin = Database::connect(url).await?;
        let created = admin
            .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await;
        if let Err(e) = created {
            // Two services creating the same schema at once: the loser sees a
            // unique violation, and the schema exists.
            tracing::debug!(error = %e, schema, "create schema");
        }
        admin.close().await?;
        options
            .set_schema_search_path(schema.to_owned())
            .max_connections(max_connections.max(2))
            .min_connections(1);
    } else {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.split('?').next())
            .map(std::path::Path::new)
            .and_then(std::path::Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(path).map_err(|e| DbErr::Custom(format!("{path:?}: {e}")))?;
        }
        // One connection: SQLite serialises writers anyway, and one connection
        // never meets SQLITE_BUSY.
        options.max_connections(1).min_connections(1);
    }
    let db = Database::connect(options).await?;
    if !url.starts_with("postgres") {
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
            .await?;
    }
    Ok(db)
}

/// The outbox relay's connection: on PostgreSQL one connection of its own
/// whose commits do not wait for the WAL flush (`synchronous_commit=off`):
/// a relay commit only deletes rows the bus has acknowledged, and if a crash
/// loses it (at most a few hundred ms of them) the rows are published again
/// and the bus de-duplicates them by event id — what a crash between publish
/// and commit already does. That saves a WAL flush per relay cycle, about one
/// per write at light load. On SQLite, `db` itself (one connection serves the file).
pub async fn relay(
    url: &str,
    schema: &str,
    db: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if !url.starts_with("postgres") {
        return Ok(db.clone());
    }
    let mut options = pool_options(url);
    options
        .set_schema_search_path(schema.to_owned())
        .max_connections(1)
        .min_connections(1)
        .map_sqlx_postgres_opts(|pg| pg.options([("synchronous_commit", "off")]));
    Database::connect(options).await
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

    async fn synchronous_commit(db: &sea_orm::DatabaseConnection) -> String {
        let row = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT current_setting('synchronous_commit') AS s",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "s").unwrap()
    }

    #[tokio::test]
    async fn only_the_relay_commits_without_waiting_for_the_flush() {
        let url = talk_testkit::test_database_url();
        let schema = talk_testkit::fresh_schema_name("talk_store_connect");
        let db = super::connect(&url, &schema, 2).await.unwrap();
        let relay = super::relay(&url, &schema, &db).await.unwrap();
        assert_eq!(synchronous_commit(&relay).await, "off");
        assert_eq!(synchronous_commit(&db).await, "on");
        db.execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }
}
