//! sea-orm models of webhook-service's tables.

pub mod agent_talk;
pub mod delivery;
pub mod endpoint;
