//! Conversions between stored rows and wire (protobuf) types. Every wire type
//! is destructured exhaustively, so a new field breaks the build here.

use serde::{Deserialize, Serialize};
use talk_proto::{Address, Edit, Media, MediaFile, Mention, Message, Reaction};
use talk_types::time;

use crate::db::entities::{edit, message, reaction};

/// A media as stored in the `medias` JSON column: exactly what was sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMedia {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<StoredAddress>,
    /// A `file` media's file as file-service resolved it at posting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<StoredFile>,
}

/// The file of a `file` media as stored (see [`talk_proto::MediaFile`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    #[serde(default)]
    name: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    uri_download: String,
    #[serde(default)]
    uri_thumbnail: String,
}

/// VoIPBIN's CommonAddress as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAddress {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    target_name: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    detail: String,
}

impl From<Media> for StoredMedia {
    fn from(media: Media) -> Self {
        let Media {
            r#type,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address,
            file,
        } = media;
        Self {
            file: file.map(|f| {
                let MediaFile {
                    name,
                    size,
                    mime_type,
                    uri_download,
                    uri_thumbnail,
                } = f;
                StoredFile {
                    name,
                    size,
                    mime_type,
                    uri_download,
                    uri_thumbnail,
                }
            }),
            kind: r#type,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address: address.map(|a| {
                let Address {
                    r#type,
                    target,
                    target_name,
                    name,
                    detail,
                } = a;
                StoredAddress {
                    kind: r#type,
                    target,
                    target_name,
                    name,
                    detail,
                }
            }),
        }
    }
}

impl From<StoredMedia> for Media {
    fn from(media: StoredMedia) -> Self {
        let StoredMedia {
            kind,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address,
            file,
        } = media;
        Self {
            file: file.map(|f| {
                let StoredFile {
                    name,
                    size,
                    mime_type,
                    uri_download,
                    uri_thumbnail,
                } = f;
                MediaFile {
                    name,
                    size,
                    mime_type,
                    uri_download,
                    uri_thumbnail,
                }
            }),
            r#type: kind,
            url,
            name,
            file_id,
            link_url,
            agent_id,
            address: address.map(|a| {
                let StoredAddress {
                    kind,
                    target,
                    target_name,
                    name,
                    detail,
                } = a;
                Address {
                    r#type: kind,
                    target,
                    target_name,
                    name,
                    detail,
                }
            }),
        }
    }
}

/// The `medias` column value for `medias`.
pub fn medias_json(medias: Vec<Media>) -> String {
    let stored: Vec<StoredMedia> = medias.into_iter().map(StoredMedia::from).collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".to_owned())
}

fn medias_from_json(json: &str) -> Vec<Media> {
    match serde_json::from_str::<Vec<StoredMedia>>(json) {
        Ok(stored) => stored.into_iter().map(Media::from).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable medias column");
            Vec::new()
        }
    }
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A message with its reactions (those of other messages are ignored).
pub fn message(row: message::Model, reactions: &[reaction::Model]) -> Message {
    let message::Model {
        id,
        customer_id,
        talk_id,
        parent_id,
        owner_type,
        owner_id,
        kind,
        text,
        medias,
        seq,
        change_seq,
        reply_count,
        tm_create,
        tm_update,
        tm_delete,
        mentions,
    } = row;
    Message {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        owner_type,
        owner_id: owner_id.to_string(),
        chat_id: talk_id.to_string(),
        parent_id: parent_id.map(|p| p.to_string()),
        r#type: kind,
        text,
        medias: medias_from_json(&medias),
        reactions: reactions
            .iter()
            .filter(|r| r.message_id == id)
            .map(reaction_wire)
            .collect(),
        seq: to_u64(seq),
        reply_count: u32::try_from(reply_count).unwrap_or(0),
        tm_create: time::to_micros(&tm_create),
        tm_update: time::to_micros(&tm_update),
        tm_delete: tm_delete.as_ref().map_or(0, time::to_micros),
        change_seq: to_u64(change_seq),
        mentions: mentions_from_json(&mentions),
    }
}

/// A mention as stored in `messages.mentions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMention {
    agent_id: String,
    kind: String,
    start: u32,
    end: u32,
}

/// Mentions as stored.
pub fn mentions_json(mentions: &[Mention]) -> String {
    let stored: Vec<StoredMention> = mentions
        .iter()
        .map(|m| {
            let Mention {
                agent_id,
                kind,
                start,
                end,
            } = m.clone();
            StoredMention {
                agent_id,
                kind,
                start,
                end,
            }
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".to_owned())
}

/// Stored mentions (none when unreadable).
pub fn mentions_from_json(json: &str) -> Vec<Mention> {
    serde_json::from_str::<Vec<StoredMention>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(
            |StoredMention {
                 agent_id,
                 kind,
                 start,
                 end,
             }| Mention {
                agent_id,
                kind,
                start,
                end,
            },
        )
        .collect()
}

fn reaction_wire(row: &reaction::Model) -> Reaction {
    Reaction {
        emoji: row.emoji.clone(),
        owner_type: "agent".to_owned(),
        owner_id: row.owner_id.to_string(),
        tm_create: time::to_micros(&row.tm_create),
    }
}

/// A previous version of a message.
pub fn edit(row: edit::Model) -> Edit {
    let edit::Model {
        id: _,
        message_id: _,
        text,
        tm_edit,
    } = row;
    Edit {
        text,
        tm_edit: time::to_micros(&tm_edit),
    }
}
