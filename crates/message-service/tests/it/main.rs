//! message-service against real PostgreSQL: the service runs for real; talk-
//! and agent-services are small gRPC fakes (tests/it/fakes.rs) because access
//! decisions and names are all this crate needs from them.

mod fakes;
mod harness;
mod limits;
mod messages;
mod reactions;
mod read_state;
mod real;
mod system;
mod validation;
