//! Reaction counts: computed here, from a message's reactions, and nowhere
//! else. `me` depends on who looks: a REST answer is made for its caller
//! ([`Message::viewed_by`]); an event is serialized once for every socket, with
//! `me` false, and [`message_viewed_by`] sets it for each socket's agent.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::{Message, Metadata, Reaction, ReactionCount};

/// Where a serialized message's metadata starts. A string value cannot hold
/// this unescaped (its quotes would be `\"`), so it is the key itself.
const METADATA_KEY: &str = "\"metadata\":";
/// Present only when a serialized message has at least one reaction count.
const SOME_COUNTS: &str = "\"reaction_counts\":[{";

impl Metadata {
    /// The metadata of `reactions` (in the order they were added): one count
    /// per emoji, in the order each emoji was first used, `me` false.
    pub fn new(reactions: Vec<Reaction>) -> Self {
        let mut reaction_counts: Vec<ReactionCount> = Vec::new();
        for reaction in &reactions {
            match reaction_counts
                .iter_mut()
                .find(|c| c.emoji == reaction.emoji)
            {
                Some(count) => count.count += 1,
                None => reaction_counts.push(ReactionCount {
                    emoji: reaction.emoji.clone(),
                    count: 1,
                    me: false,
                }),
            }
        }
        Self {
            reactions,
            reaction_counts,
        }
    }

    /// Sets `me` on each count for `viewer` (an agent id); true when any changed.
    pub fn view(&mut self, viewer: &str) -> bool {
        let mine: HashSet<&str> = self
            .reactions
            .iter()
            .filter(|r| r.owner_id == viewer)
            .map(|r| r.emoji.as_str())
            .collect();
        let mut changed = false;
        for count in &mut self.reaction_counts {
            let me = mine.contains(count.emoji.as_str());
            changed |= count.me != me;
            count.me = me;
        }
        changed
    }
}

impl Message {
    /// The message as `viewer` (an agent id) sees it: `me` set on its counts.
    #[must_use]
    pub fn viewed_by(mut self, viewer: &str) -> Self {
        self.metadata.view(viewer);
        self
    }
}

/// `data`, the JSON of an event, as `viewer` (an agent id) sees it: for a
/// [`Message`] that `viewer` reacted to, its `metadata` with `me` set. Any
/// other JSON (a talk, a participant, a message without reactions or that
/// `viewer` did not react to) is returned as it is, after two substring
/// searches; only the metadata is parsed and rewritten, never the text.
pub fn message_viewed_by<'a>(data: &'a str, viewer: &str) -> Cow<'a, str> {
    if viewer.is_empty() || !data.contains(SOME_COUNTS) || !data.contains(viewer) {
        return Cow::Borrowed(data);
    }
    let Some(start) = data.find(METADATA_KEY).map(|at| at + METADATA_KEY.len()) else {
        return Cow::Borrowed(data);
    };
    let mut values = serde_json::Deserializer::from_str(&data[start..]).into_iter::<Metadata>();
    let Some(Ok(mut metadata)) = values.next() else {
        return Cow::Borrowed(data);
    };
    let end = start + values.byte_offset();
    if !metadata.view(viewer) {
        return Cow::Borrowed(data);
    }
    let Ok(rewritten) = serde_json::to_string(&metadata) else {
        return Cow::Borrowed(data);
    };
    Cow::Owned(format!("{}{rewritten}{}", &data[..start], &data[end..]))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const ANN: &str = "11111111-1111-1111-1111-111111111111";
    const BEN: &str = "22222222-2222-2222-2222-222222222222";
    const CAL: &str = "33333333-3333-3333-3333-333333333333";

    fn reaction(emoji: &str, owner: &str) -> Reaction {
        Reaction {
            emoji: emoji.into(),
            owner_type: "agent".into(),
            owner_id: owner.into(),
            tm_create: Some("2026-01-15T09:30:00.000000Z".into()),
        }
    }

    fn message(text: &str, reactions: Vec<Reaction>) -> Message {
        Message {
            id: "m".into(),
            customer_id: "c".into(),
            owner_type: "agent".into(),
            owner_id: ANN.into(),
            agent_id: Some(ANN.into()),
            chat_id: "t".into(),
            parent_id: None,
            kind: "normal".into(),
            text: text.into(),
            medias: Vec::new(),
            metadata: Metadata::new(reactions),
            mentions: Vec::new(),
            seq: 1,
            change_seq: 4,
            reply_count: 0,
            tm_create: None,
            tm_update: None,
            tm_delete: None,
        }
    }

    fn counts(value: &Value) -> Value {
        value["metadata"]["reaction_counts"].clone()
    }

    #[test]
    fn counts_per_emoji_in_first_used_order() {
        let metadata = Metadata::new(vec![
            reaction("🎉", ANN),
            reaction("👍", BEN),
            reaction("🎉", BEN),
            reaction("👍", CAL),
            reaction("🎉", CAL),
        ]);
        let counts: Vec<(&str, u32, bool)> = metadata
            .reaction_counts
            .iter()
            .map(|c| (c.emoji.as_str(), c.count, c.me))
            .collect();
        assert_eq!(counts, [("🎉", 3, false), ("👍", 2, false)]);
        assert!(Metadata::new(Vec::new()).reaction_counts.is_empty());
    }

    #[test]
    fn me_is_the_viewers() {
        let reacted = message("hi", vec![reaction("👍", BEN), reaction("🎉", CAL)]);
        let for_ben = serde_json::to_value(reacted.clone().viewed_by(BEN)).unwrap();
        assert_eq!(
            counts(&for_ben),
            json!([{"emoji": "👍", "count": 1, "me": true}, {"emoji": "🎉", "count": 1, "me": false}])
        );
        let for_ann = serde_json::to_value(reacted.viewed_by(ANN)).unwrap();
        assert_eq!(counts(&for_ann)[0]["me"], false);
        assert_eq!(counts(&for_ann)[1]["me"], false);
    }

    #[test]
    fn an_event_is_rewritten_only_for_a_viewer_who_reacted() {
        // A text that looks like metadata, as a client could send it.
        let text = r#"trap: "metadata":{"reactions":[],"reaction_counts":[{"emoji":"x","count":9,"me":true}]} 22222222"#;
        let reacted = message(text, vec![reaction("👍", BEN), reaction("👍", CAL)]);
        let data = serde_json::to_string(&reacted).unwrap();

        let for_ben = message_viewed_by(&data, BEN);
        let expected = serde_json::to_string(&reacted.clone().viewed_by(BEN)).unwrap();
        assert_eq!(for_ben, expected, "the same bytes as a REST answer");
        let parsed: Value = serde_json::from_str(&for_ben).unwrap();
        assert_eq!(parsed["text"], text);
        assert_eq!(
            counts(&parsed),
            json!([{"emoji": "👍", "count": 2, "me": true}])
        );

        for unchanged in [ANN, "44444444-4444-4444-4444-444444444444", ""] {
            assert!(matches!(
                message_viewed_by(&data, unchanged),
                Cow::Borrowed(_)
            ));
        }
        let quiet = serde_json::to_string(&message("hi", Vec::new())).unwrap();
        assert!(matches!(message_viewed_by(&quiet, ANN), Cow::Borrowed(_)));
        let talk = json!({"id": BEN, "name": "x"}).to_string();
        assert!(matches!(message_viewed_by(&talk, BEN), Cow::Borrowed(_)));
    }
}
