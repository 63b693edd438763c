//! talk-service through its gRPC API, against real PostgreSQL and the real agent-service.

mod archive;
mod backends;
mod create;
mod events;
mod idempotency;
mod lifecycle;
mod membership;
mod pagination;
mod support;
mod visibility;
