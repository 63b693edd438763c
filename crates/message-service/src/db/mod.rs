//! Persistence: sea-orm entities, the queries over them and the migrations.

pub mod entities;
pub mod migration;
pub mod queries;
