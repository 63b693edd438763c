//! sea-orm models of webhook-service's tables.

pub mod delivery;
pub mod endpoint;
