//! Connecting with one schema (PostgreSQL) or one file (SQLite) per service.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

/// Connects to `url`, creating `schema` on PostgreSQL (or the SQLite file's folder).
pub async fn connect(
    url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // The pool's default pings every connection it hands out: one more round
        // trip per query outside a transaction. Only a connection idle long enough
        // for the server or a proxy to have dropped it is worth checking.
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
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
