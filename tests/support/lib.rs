//! Harness for Talk's end-to-end tests: a fresh PostgreSQL database per test,
//! NATS (the machine's, or a private `nats-server` a test can stop), Talk started
//! either as separate services on port 0 or as `talk serve all`, and small
//! HTTP and WebSocket clients.
//!
//! The databases, NATS and readiness waits come from `talk-testkit`.

pub mod client;
pub mod cluster;
pub mod procs;
pub mod ws;

pub use client::Api;
pub use cluster::{Cluster, Topology};
pub use talk_testkit::{NatsServer, fresh_database};
pub use ws::Socket;
