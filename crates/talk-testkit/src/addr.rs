//! Addresses for listeners that the code under test binds itself.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, PoisonError};

/// Ports handed out, below Linux's ephemeral range (32768–60999).
const PORTS: std::ops::Range<u16> = 20_000..32_768;

/// A loopback address nothing listens on now, for a listener a service binds
/// itself from its configuration (`TALK_OPS_ADDR`, `TALK_PUSH_GRPC_ADDR`, a
/// process's `TALK_*_ADDR`).
///
/// The port is a random one below the ephemeral range, checked free by
/// binding it. Not a port the kernel hands out for `:0`: those are the
/// ephemeral ports every outgoing connection (to PostgreSQL, NATS, the
/// services) also takes its local port from, so one freed at once was often
/// taken again before the service bound it (`Address already in use` in
/// about one test run in ten under `nextest`'s parallelism).
///
/// Never the same port twice in one process: a cluster asks for seven at
/// once, none bound yet, and a random pick repeating one of them (one
/// cluster in ~600) made two services of it bind the same port.
pub fn free_addr() -> SocketAddr {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..1_000 {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let span = u64::from(PORTS.end - PORTS.start);
        let port = PORTS.start + u16::try_from(random % span).unwrap_or(0);
        if handed_out.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port))
            && let Ok(addr) = listener.local_addr()
        {
            handed_out.insert(port);
            return addr;
        }
    }
    panic!("no free loopback port in {PORTS:?}")
}
