//! Every query of agent-service; all but login and bootstrap are scoped to one customer.

pub mod access_keys;
pub mod agents;
pub mod customers;
pub mod refresh_tokens;
