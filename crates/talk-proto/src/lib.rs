//! Generated protobuf and gRPC code for Talk's internal contracts.
//!
//! The `.proto` sources live in `proto/talk/v1/`; they are compiled at build
//! time with protox, so no `protoc` is needed.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// `talk.v1`: agents, talks, messages, push control and the event envelope.
pub mod v1 {
    tonic::include_proto!("talk.v1");
}

pub use v1::*;
