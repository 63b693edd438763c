//! Persistence: sea-orm entities, tenant-scoped queries and migrations.

pub mod entities;
pub mod migration;
pub mod queries;
