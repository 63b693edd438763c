//! PostgreSQL: the server tests use, fresh databases and schema names.

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, Database};

/// What [`fresh_database`] names its databases with (and [`drop_database`] checks).
const DATABASE_PREFIX: &str = "talk_t_";

/// The PostgreSQL server tests use, as a URL without a database:
/// `TALK_TEST_PG`, by default `postgres://postgres@127.0.0.1:5432`.
pub fn pg_base() -> String {
    std::env::var("TALK_TEST_PG")
        .map(|url| url.trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The URL of the server's `test` database: where databases are created
/// from, and where tests that need only a schema of their own make it.
pub fn test_database_url() -> String {
    format!("{}/test", pg_base())
}

/// A schema name no other test uses: `prefix`, `_` and a random suffix, all
/// lower case (so it needs no quoting when `prefix` is lower case too).
pub fn fresh_schema_name(prefix: &str) -> String {
    format!("{prefix}_{}", crate::unique())
}

/// Creates an empty, uniquely named database and returns its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    let name = format!("{DATABASE_PREFIX}{}", crate::unique());
    let admin = Database::connect(test_database_url())
        .await
        .with_context(|| format!("connecting to {} (is PostgreSQL running?)", pg_base()))?;
    let created = admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await;
    admin.close().await?;
    created.with_context(|| format!("creating database {name}"))?;
    Ok(format!("{}/{name}", pg_base()))
}

/// Drops a database [`fresh_database`] made (`url` is what it returned),
/// closing the connections still open to it.
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    let Some((base, name)) = url.rsplit_once('/') else {
        bail!("{url} names no database");
    };
    let ours = name.starts_with(DATABASE_PREFIX)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ours {
        bail!("{url} is not a database of fresh_database");
    }
    let admin = Database::connect(format!("{base}/test"))
        .await
        .with_context(|| format!("connecting to {base}"))?;
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin.close().await?;
    dropped.with_context(|| format!("dropping database {name}"))?;
    Ok(())
}
