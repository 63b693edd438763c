//! Talk's domain events and the bus that carries them.
//!
//! Every event is one Rust type ([`kinds`]) whose name and version are bound to
//! the type; it travels as a protobuf [`EventEnvelope`] on the subject
//! `<prefix>.<customer_id>.<talk_id>.<kind>`. The [`Bus`] trait has two
//! implementations: NATS JetStream ([`nats::NatsBus`]) and an in-process bus
//! with a bounded history ([`memory::MemoryBus`]) for the embedded default.

pub mod bus;
pub mod kinds;
pub mod memory;
pub mod nats;
pub mod signal;
pub mod watch;

pub use bus::{Bus, BusError, Delivery, EventStream, Outgoing, Start};
pub use kinds::{DomainEvent, EventKind, Payload};
pub use signal::{Signal, SignalKind, SignalStream};
pub use talk_proto::EventEnvelope;
pub use watch::{Scope, Watch};
