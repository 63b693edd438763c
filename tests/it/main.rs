//! End-to-end tests: Talk through its public REST API and WebSocket, against
//! real PostgreSQL and NATS JetStream (and the embedded default).

mod accesskeys;
mod auth;
mod crash;
mod files;
mod internal;
mod limits;
mod messages;
mod operations;
mod outbox;
mod push;
mod rate;
mod search;
mod signals;
mod slice;
mod talks;
mod traces;
mod voipbin;
mod webhooks;
