//! Addresses for listeners that the code under test binds itself.

use std::net::{SocketAddr, TcpListener};

/// A loopback address nothing listens on now, for a listener a service binds
/// itself from its configuration (`TALK_OPS_ADDR`, `TALK_PUSH_GRPC_ADDR`, a
/// process's `TALK_*_ADDR`). The port is one the kernel just handed out for
/// a listener closed at once: another process could take it before the
/// service binds it, which is unlikely (ephemeral ports are not handed out
/// again straight away).
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}
