//! sea-orm models of agent-service's tables.

pub mod access_key;
pub mod agent;
pub mod customer;
pub mod refresh_token;
