//! agent-service end to end: the real server on 127.0.0.1:0 against a fresh
//! PostgreSQL database per test, driven through the generated gRPC client.

mod access_keys;
mod agents;
mod bootstrap;
mod idempotency;
mod isolation;
mod login;
mod sqlite;
mod support;
