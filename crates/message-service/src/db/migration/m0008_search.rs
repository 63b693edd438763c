//! The full-text index of `messages`, kept by the database itself in the
//! statement (so the transaction) that writes a message, edits or deletes it.
//!
//! - PostgreSQL: a stored generated column `search`, the `simple`
//!   configuration's `tsvector` of the text with every run of
//!   non-alphanumeric characters made a space (so words split as SQLite's
//!   `unicode61` tokenizer splits them), and a GIN index on it; plus a
//!   `pg_trgm` GIN index on `lower(text)` for the substring search of
//!   scripts written without spaces (Korean, Japanese, Chinese) and emoji.
//! - SQLite: an FTS5 table `message_search` over the text (external content:
//!   `messages`, by rowid), kept by triggers.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Adds the search index.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_08_message_search"
    }
}

const POSTGRES: &[&str] = &[
    // A trusted extension (PostgreSQL 13+): a role with CREATE on the
    // database may add it. One schema of the database adds it at a time.
    "SELECT pg_advisory_xact_lock(hashtext('talk.pg_trgm'))",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search tsvector \
     GENERATED ALWAYS AS \
     (to_tsvector('simple'::regconfig, regexp_replace(text, '[^[:alnum:]]+', ' ', 'g'))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages USING gin (search)",
    "CREATE INDEX IF NOT EXISTS ix_messages_trgm ON messages \
     USING gin (lower(text) public.gin_trgm_ops)",
];

const SQLITE: &[&str] = &[
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_search USING fts5(text, \
     content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS message_search_insert AFTER INSERT ON messages BEGIN \
     INSERT INTO message_search(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_search_delete AFTER DELETE ON messages BEGIN \
     INSERT INTO message_search(message_search, rowid, text) VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_search_update AFTER UPDATE OF text ON messages \
     WHEN old.text IS NOT new.text BEGIN \
     INSERT INTO message_search(message_search, rowid, text) VALUES ('delete', old.rowid, old.text); \
     INSERT INTO message_search(rowid, text) VALUES (new.rowid, new.text); END",
    // Messages written before the index.
    "INSERT INTO message_search(message_search) VALUES ('rebuild')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match db.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match db.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP INDEX IF EXISTS ix_messages_trgm",
                "ALTER TABLE messages DROP COLUMN IF EXISTS search",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS message_search_insert",
                "DROP TRIGGER IF EXISTS message_search_delete",
                "DROP TRIGGER IF EXISTS message_search_update",
                "DROP TABLE IF EXISTS message_search",
            ],
        };
        for statement in statements {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
