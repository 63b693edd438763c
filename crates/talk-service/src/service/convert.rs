//! Models to wire types, destructured exhaustively so a new column breaks the build.

use talk_proto::{Participant, Talk};
use talk_types::time;

use crate::db::entities::{participant, talk};

/// A talk as the wire carries it; `unread_count` and `last_seq` are the edge's to fill.
pub fn talk(model: &talk::Model) -> Talk {
    let talk::Model {
        id,
        customer_id,
        kind,
        name,
        detail,
        state,
        member_count,
        tm_create,
        tm_update,
        tm_delete,
        tm_activity: _,
        close_reason,
    } = model;
    Talk {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        r#type: kind.as_str().to_owned(),
        name: name.clone(),
        detail: detail.clone(),
        member_count: u32::try_from(*member_count).unwrap_or(0),
        state: state.as_str().to_owned(),
        tm_create: time::to_micros(tm_create),
        tm_update: time::to_micros(tm_update),
        tm_delete: tm_delete.as_ref().map_or(0, time::to_micros),
        unread_count: 0,
        last_seq: 0,
        close_reason: close_reason
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// A participant as the wire carries it (`chat_id` is the talk id).
pub fn participant(model: &participant::Model) -> Participant {
    let participant::Model {
        id,
        customer_id,
        talk_id,
        owner_type,
        owner_id,
        state,
        role,
        tm_joined,
        tm_left,
    } = model;
    Participant {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        owner_type: owner_type.clone(),
        owner_id: owner_id.to_string(),
        chat_id: talk_id.to_string(),
        state: state.as_str().to_owned(),
        tm_joined: time::to_micros(tm_joined),
        tm_left: tm_left.as_ref().map_or(0, time::to_micros),
        role: role.as_str().to_owned(),
    }
}
