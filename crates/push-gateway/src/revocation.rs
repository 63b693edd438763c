//! Open sockets follow their token: every [`FRESH_FOR`] the gateway asks
//! agent-service for the token versions of the agents connected here (one
//! call per 1,000 agents) and closes, with code 4401, every socket whose
//! token was revoked since (logout, password or permission change, delete)
//! or has expired. Sockets opened with an access key also close once the key
//! is deleted or expired (agent-service's `AccessKeyStates`, asked in the
//! same sweep). A new socket is checked at the upgrade (`ws::upgrade`).

use std::collections::HashMap;
use std::sync::Arc;

use talk_auth::{AccessKeys, FRESH_FOR, Revocations, judge};
use talk_types::time;
use tokio_util::sync::CancellationToken;

use crate::queue::close;
use crate::routing::Hub;

/// Agents asked about in one `TokenStates` call.
const CHUNK: usize = 1_000;

/// Sweeps until `shutdown`.
pub(crate) async fn sweep(
    hub: Arc<Hub>,
    revocations: Revocations,
    keys: AccessKeys,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(FRESH_FOR);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let agents = hub.connected_agents();
        let mut versions = HashMap::with_capacity(agents.len());
        for chunk in agents.chunks(CHUNK) {
            match revocations.refresh(chunk).await {
                Ok(answered) => versions.extend(answered),
                // Sockets stay open while agent-service cannot answer; new ones are refused.
                Err(e) => {
                    tracing::warn!(error = %e, "token states unavailable; revocation sweep skipped")
                }
            }
        }
        let mut key_states = HashMap::new();
        for chunk in hub.connected_keys().chunks(CHUNK) {
            match keys.states(chunk).await {
                Ok(answered) => key_states.extend(answered),
                Err(e) => {
                    tracing::warn!(error = %e, "access key states unavailable; key sweep skipped")
                }
            }
        }
        let now = time::now();
        let closed = hub.close_refused(close::UNAUTHENTICATED, |identity| {
            if identity.expires <= now {
                return Some(if identity.key.is_some() {
                    "access key expired"
                } else {
                    "token expired"
                });
            }
            if let Some(key) = identity.key
                && key_states.get(&key) == Some(&false)
            {
                return Some("access key deleted");
            }
            let current = versions.get(&identity.agent.id)?;
            judge(identity, *current).err().map(|_| "token revoked")
        });
        if closed > 0 {
            tracing::info!(closed, "sockets of revoked or expired tokens closed");
        }
    }
}
