//! Rows to wire types. The password hash and a key's token hash have no
//! place on the wire.

use talk_types::time;

use crate::db::entities::{access_key, agent};

/// The wire form of an agent row.
pub fn agent(row: &agent::Model) -> talk_proto::Agent {
    let agent::Model {
        id,
        customer_id,
        username,
        password_hash: _,
        name,
        detail,
        ring_method,
        status,
        permission,
        tm_create,
        tm_update,
        tm_delete,
        token_version: _,
    } = row;
    talk_proto::Agent {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        username: username.clone(),
        name: name.clone(),
        detail: detail.clone(),
        ring_method: ring_method.clone(),
        status: status.clone(),
        permission: u32::try_from(*permission).unwrap_or(0),
        tm_create: time::to_micros(tm_create),
        tm_update: time::to_micros(tm_update),
        tm_delete: tm_delete.as_ref().map_or(0, time::to_micros),
    }
}

/// The claim a token carries for an agent row.
pub fn claim(row: &agent::Model) -> talk_auth::AgentClaim {
    talk_auth::AgentClaim {
        id: row.agent_id(),
        customer_id: row.customer_id,
        username: row.username.clone(),
        name: row.name.clone(),
        permission: row.permission_bits(),
    }
}

/// The wire form of an access key row; `token` only in a create's answer
/// (else empty).
pub fn access_key(row: &access_key::Model, token: String) -> talk_proto::AccessKey {
    let access_key::Model {
        id,
        customer_id,
        agent_id,
        name,
        detail,
        token_hash: _,
        token_prefix,
        tm_expire,
        tm_create,
        tm_update,
        tm_delete,
    } = row;
    talk_proto::AccessKey {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        agent_id: agent_id.to_string(),
        name: name.clone(),
        detail: detail.clone(),
        token,
        token_prefix: token_prefix.clone(),
        tm_expire: tm_expire.as_ref().map_or(0, time::to_micros),
        tm_create: time::to_micros(tm_create),
        tm_update: time::to_micros(tm_update),
        tm_delete: tm_delete.as_ref().map_or(0, time::to_micros),
    }
}
