//! Event names on the wire: VoIPBIN's (`chatmessage_created`, the default,
//! as on `/v1.0/service_agents/ws`) or the seed's (`message_created`).

use talk_events::EventKind;
use talk_types::{ApiError, Reason};

/// The `type` of a test ping.
pub const PING: &str = "ping";
/// The `type` of the notice, sent to the customer's other endpoints, that an
/// endpoint was disabled for failing.
pub const DISABLED: &str = "webhook_disabled";

/// Which event names an endpoint receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// VoIPBIN's names: the default.
    Voipbin,
    /// The seed's names.
    Seed,
}

impl Naming {
    /// `voipbin` (or empty) or `seed`.
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        match value {
            "" | "voipbin" => Ok(Self::Voipbin),
            "seed" => Ok(Self::Seed),
            other => Err(ApiError::of(
                Reason::InvalidArgument,
                format!("naming {other:?} is neither \"voipbin\" nor \"seed\"."),
            )),
        }
    }

    /// How it is stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voipbin => "voipbin",
            Self::Seed => "seed",
        }
    }

    /// What `kind` is called in this naming (as on the WebSocket).
    pub fn name(self, kind: EventKind) -> &'static str {
        match self {
            Self::Seed => kind.name(),
            Self::Voipbin => kind.voipbin_name(),
        }
    }
}

/// Whether some event webhooks carry is called `name` in either naming (or
/// it is the disabled notice). Read positions are no webhook event.
pub fn is_known(name: &str) -> bool {
    name == DISABLED
        || EventKind::ALL
            .into_iter()
            .filter(|kind| *kind != EventKind::ReadUpdated)
            .any(|kind| kind.name() == name || kind.voipbin_name() == name)
}

/// Whether a filter of event names (empty: every event) lets `kind` through;
/// a filter may name an event in either naming.
pub fn matches(filter: &[&str], kind: EventKind) -> bool {
    filter.is_empty()
        || filter
            .iter()
            .any(|name| *name == kind.name() || *name == kind.voipbin_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_known_name_in_both_namings() {
        for kind in EventKind::ALL {
            if kind == EventKind::ReadUpdated {
                assert!(!is_known(kind.name()), "no webhook event");
                continue;
            }
            assert!(is_known(Naming::Seed.name(kind)));
            assert!(is_known(Naming::Voipbin.name(kind)));
        }
        assert!(is_known(DISABLED));
        assert!(!is_known("message_exploded"));
    }

    #[test]
    fn a_filter_matches_either_name() {
        assert!(matches(&[], EventKind::TalkClosed));
        assert!(matches(&["chat_updated"], EventKind::TalkClosed));
        assert!(matches(&["talk_closed"], EventKind::TalkClosed));
        assert!(!matches(&["chat_created"], EventKind::TalkClosed));
    }
}
