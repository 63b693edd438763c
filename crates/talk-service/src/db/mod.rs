//! Persistence: models, queries and migrations.

pub mod entities;
pub mod migration;
pub mod queries;
