//! Mentions in a message's text, parsed on post and edit: `@username` of an
//! active member of the talk (its username, ignoring case), and `@here` /
//! `@all`, which mention every active member but the author — in a talk of
//! more than [`LARGE_TALK`] members only when an owner or moderator writes
//! them. Anything else after an `@` (an agent not in the talk, a plain
//! member's `@all` in a large talk, an e-mail address) stays text and
//! mentions no one. Offsets count UTF-16 code units, as highlights do.

use std::collections::HashMap;

use talk_proto::{Mention, ResolveAgentsRequest, TalkRef};
use talk_types::{ApiError, TalkId};

use super::{Caller, Messages};
use crate::wire;

/// Above this many active members, `@here` and `@all` need an owner or a
/// moderator.
pub const LARGE_TALK: usize = 50;

/// An `@name` in a text: where (characters) and the name, lowercase.
#[derive(Debug, PartialEq, Eq)]
struct Candidate {
    start: usize,
    end: usize,
    name: String,
}

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')
}

/// Every `@name` that starts a word (after the start or a character that
/// cannot be part of a username), without trailing punctuation.
fn candidates(text: &str) -> Vec<Candidate> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !name_char(chars[i - 1]);
        let named = chars.get(i + 1).is_some_and(|c| c.is_alphanumeric());
        if chars[i] != '@' || !starts_word || !named {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < chars.len() && name_char(chars[end]) {
            end += 1;
        }
        while end > i + 1 && matches!(chars[end - 1], '.' | '-' | '@' | '_') {
            end -= 1;
        }
        if end > i + 1 {
            let name: String = chars[i + 1..end].iter().collect();
            out.push(Candidate {
                start: i,
                end,
                name: name.to_lowercase(),
            });
        }
        i = end.max(i + 1);
    }
    out
}

impl Messages {
    /// The mentions of `text`, posted or edited by `caller` in `talk`, as
    /// stored (`messages.mentions`); `[]` without an `@`.
    pub(super) async fn mentions(
        &self,
        caller: &Caller,
        talk: TalkId,
        text: &str,
    ) -> Result<String, ApiError> {
        let found = candidates(text);
        if found.is_empty() {
            return Ok("[]".to_owned());
        }
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            TalkRef {
                talk_id: talk.to_string(),
            },
        );
        let members: Vec<_> = self
            .talks
            .clone()
            .list_participants(request)
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner()
            .participants
            .into_iter()
            .filter(|p| p.state == "active" && p.owner_type == "agent")
            .collect();
        let me = caller.agent_id.to_string();
        let leads = members
            .iter()
            .any(|p| p.owner_id == me && matches!(p.role.as_str(), "owner" | "moderator"));
        let everyone = members.len() <= LARGE_TALK || leads;
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            ResolveAgentsRequest {
                agent_ids: members.iter().map(|p| p.owner_id.clone()).collect(),
            },
        );
        let agents = self
            .agents
            .clone()
            .resolve_agents(request)
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner()
            .agents;
        let by_name: HashMap<String, String> = agents
            .into_iter()
            .map(|a| (a.username.to_lowercase(), a.id))
            .collect();
        let units = utf16_offsets(text);
        let mut mentions = Vec::new();
        for c in found {
            let (start, end) = (units[c.start], units[c.end]);
            let mention = |agent_id: String, kind: &str| Mention {
                agent_id,
                kind: kind.to_owned(),
                start,
                end,
            };
            if let Some(id) = by_name.get(&c.name) {
                mentions.push(mention(id.clone(), "agent"));
            } else if matches!(c.name.as_str(), "here" | "all") && everyone {
                mentions.extend(
                    members
                        .iter()
                        .filter(|p| p.owner_id != me)
                        .map(|p| mention(p.owner_id.clone(), &c.name)),
                );
            }
        }
        Ok(wire::mentions_json(&mentions))
    }
}

/// The UTF-16 offset of each character of `text`, and of its end.
fn utf16_offsets(text: &str) -> Vec<u32> {
    let mut out = Vec::with_capacity(text.len() + 1);
    let mut at = 0u32;
    for c in text.chars() {
        out.push(at);
        at += c.len_utf16() as u32;
    }
    out.push(at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        candidates(text).into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn mentions_start_words_and_drop_trailing_punctuation() {
        assert_eq!(names("@Bob, ask @carol."), vec!["bob", "carol"]);
        assert_eq!(names("mail bob@example.com"), Vec::<String>::new());
        assert_eq!(names("@alice@example.com!"), vec!["alice@example.com"]);
        assert_eq!(names("(@here) @ @@all"), vec!["here"]);
        let c = &candidates("🎉 @bob")[0];
        assert_eq!((c.start, c.end), (2, 6));
        assert_eq!(utf16_offsets("🎉 @bob")[c.start], 3);
    }
}
