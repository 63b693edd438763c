//! push-gateway over real WebSockets, against real NATS JetStream (and once
//! against the in-process bus), with a fake talk-service for memberships.

mod auth;
mod backpressure;
mod delivery;
mod limits;
mod resume;
mod scale;
mod signals;
mod support;
