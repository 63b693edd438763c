//! Conversions from protobuf, with exhaustive destructuring so that a new proto
//! field breaks the build here instead of being dropped silently.

use serde_json::json;
use talk_proto as pb;
use talk_types::time;

use crate::{
    Agent, Edit, Media, Mention, Message, Metadata, Participant, Reaction, ReadState, Talk,
};

fn ts(micros: i64) -> Option<String> {
    time::from_micros(micros).map(|t| time::format(&t))
}

impl From<pb::Talk> for Talk {
    fn from(value: pb::Talk) -> Self {
        let pb::Talk {
            id,
            customer_id,
            r#type,
            name,
            detail,
            member_count,
            state,
            tm_create,
            tm_update,
            tm_delete,
            unread_count,
            last_seq,
            // Internal (message-service words the system message of an
            // archive by it); not part of VoIPBIN's shape.
            close_reason: _,
        } = value;
        Self {
            id,
            customer_id,
            kind: r#type,
            name,
            detail,
            member_count,
            state,
            unread_count,
            mention_count: 0,
            last_seq,
            tm_create: ts(tm_create),
            tm_update: ts(tm_update),
            tm_delete: ts(tm_delete),
        }
    }
}

impl From<pb::Participant> for Participant {
    fn from(value: pb::Participant) -> Self {
        let pb::Participant {
            id,
            customer_id,
            owner_type,
            owner_id,
            chat_id,
            state,
            tm_joined,
            tm_left,
            role,
        } = value;
        Self {
            id,
            customer_id,
            owner_type,
            owner_id,
            chat_id,
            state,
            role,
            tm_joined: ts(tm_joined),
            tm_left: ts(tm_left),
        }
    }
}

impl From<pb::Media> for Media {
    fn from(value: pb::Media) -> Self {
        let pb::Media {
            r#type,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address,
            file,
        } = value;
        let file = file.map(|f| {
            let pb::MediaFile {
                name,
                size,
                mime_type,
                uri_download,
                uri_thumbnail,
            } = f;
            crate::MediaFile {
                name,
                size,
                mime_type,
                uri_download,
                uri_thumbnail: Some(uri_thumbnail).filter(|u| !u.is_empty()),
            }
        });
        let address = address.map(|a| {
            let pb::Address {
                r#type,
                target,
                target_name,
                name,
                detail,
            } = a;
            let mut object = serde_json::Map::new();
            for (key, value) in [
                ("type", r#type),
                ("target", target),
                ("target_name", target_name),
                ("name", name),
                ("detail", detail),
            ] {
                if !value.is_empty() {
                    object.insert(key.to_owned(), json!(value));
                }
            }
            serde_json::Value::Object(object)
        });
        Self {
            kind: r#type,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address,
            file,
        }
    }
}

impl From<pb::Reaction> for Reaction {
    fn from(value: pb::Reaction) -> Self {
        let pb::Reaction {
            emoji,
            owner_type,
            owner_id,
            tm_create,
        } = value;
        Self {
            emoji,
            owner_type,
            owner_id,
            tm_create: ts(tm_create),
        }
    }
}

impl From<pb::Mention> for Mention {
    fn from(value: pb::Mention) -> Self {
        let pb::Mention {
            agent_id,
            kind,
            start,
            end,
        } = value;
        Self {
            agent_id,
            kind,
            start,
            end,
        }
    }
}

impl From<pb::Message> for Message {
    fn from(value: pb::Message) -> Self {
        let pb::Message {
            id,
            customer_id,
            owner_type,
            owner_id,
            chat_id,
            parent_id,
            r#type,
            text,
            medias,
            reactions,
            seq,
            reply_count,
            tm_create,
            tm_update,
            tm_delete,
            change_seq,
            mentions,
        } = value;
        let by_agent = owner_type == "agent" && r#type != "system";
        Self {
            id,
            customer_id,
            agent_id: by_agent.then(|| owner_id.clone()),
            owner_type,
            owner_id,
            chat_id,
            parent_id: parent_id.filter(|p| !p.is_empty()),
            kind: r#type,
            text,
            medias: medias.into_iter().map(Media::from).collect(),
            metadata: Metadata::new(reactions.into_iter().map(Reaction::from).collect()),
            mentions: mentions.into_iter().map(Mention::from).collect(),
            seq,
            change_seq,
            reply_count,
            tm_create: ts(tm_create),
            tm_update: ts(tm_update),
            tm_delete: ts(tm_delete),
        }
    }
}

impl From<pb::Agent> for Agent {
    fn from(value: pb::Agent) -> Self {
        let pb::Agent {
            id,
            customer_id,
            username,
            name,
            detail,
            ring_method,
            status,
            permission,
            tm_create,
            tm_update,
            tm_delete,
        } = value;
        Self {
            id,
            customer_id,
            username,
            name,
            detail,
            ring_method,
            status,
            permission,
            tag_ids: Vec::new(),
            addresses: Vec::new(),
            direct_hash: String::new(),
            tm_create: ts(tm_create),
            tm_update: ts(tm_update),
            tm_delete: ts(tm_delete),
        }
    }
}

impl From<pb::Edit> for Edit {
    fn from(value: pb::Edit) -> Self {
        let pb::Edit { text, tm_edit } = value;
        Self {
            text,
            tm_edit: ts(tm_edit),
        }
    }
}

impl From<pb::ReadState> for ReadState {
    fn from(value: pb::ReadState) -> Self {
        let pb::ReadState {
            talk_id,
            last_read_seq,
            last_seq,
            unread_count,
        } = value;
        Self {
            chat_id: talk_id,
            last_read_seq,
            last_seq,
            unread_count,
        }
    }
}
