//! Every query of webhook-service; endpoint queries take the customer, so a
//! caller never reaches another customer's rows.

pub mod agent_talks;
pub mod deliveries;
pub mod endpoints;
