//! Ephemeral signals (typing, presence, agent status): published on NATS
//! core subjects `<prefix>-signal.<customer>.<kind>` — never JetStream, so
//! never stored, never replayed — or on the in-process bus's broadcast.
//! Delivery is best effort: a reader that falls behind misses some, which
//! is what a signal that is refreshed or superseded can afford.

use std::pin::Pin;

use futures_util::Stream;
pub use talk_proto::Signal;

/// A stream of signals published after it was opened.
pub type SignalStream = Pin<Box<dyn Stream<Item = Signal> + Send>>;

/// How long an entry of the presence board lives without being written
/// again (a gateway rewrites its entries every third of it): what a gateway
/// that died leaves behind is gone after this long.
pub const PRESENCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// A change of the shared presence board: `value` is the entry written
/// under `key` (a [`Signal`] of kind presence), or `None` once deleted.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardChange {
    /// `<customer>.<agent>.<gateway>`.
    pub key: String,
    /// The entry, or `None` when it was deleted.
    pub value: Option<Signal>,
}

/// Every entry of the board, then every change.
pub type BoardStream = Pin<Box<dyn Stream<Item = BoardChange> + Send>>;

/// What a signal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// An agent types or works on an answer in a talk.
    Typing,
    /// An agent's presence (online, away, offline) changed.
    Presence,
    /// An agent's status (VoIPBIN's `available`, `away`, …) changed.
    AgentStatus,
}

impl SignalKind {
    /// Every kind.
    pub const ALL: [SignalKind; 3] = [Self::Typing, Self::Presence, Self::AgentStatus];

    /// Its name in [`Signal::kind`] and in the subject.
    pub fn name(self) -> &'static str {
        match self {
            Self::Typing => "typing",
            Self::Presence => "presence",
            Self::AgentStatus => "agent_status",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// How long a typing (or working) state lasts without a refresh: a gateway
/// sends `typing_stopped` when it runs out. Clients refresh every few
/// seconds while the user types (or the bot works).
pub const TYPING_TTL: std::time::Duration = std::time::Duration::from_secs(6);

/// What a typing signal says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypingState {
    /// A person is typing.
    Typing,
    /// A bot (or a person) is working on an answer.
    Working,
    /// Stopped (or sent the message).
    Stopped,
}

impl TypingState {
    /// Every state, as the wire names them.
    pub const ALL: [TypingState; 3] = [Self::Typing, Self::Working, Self::Stopped];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Typing => "typing",
            Self::Working => "working",
            Self::Stopped => "stopped",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The sentence that refuses an unknown state.
    pub fn refusal(got: &str) -> String {
        format!("state must be one of typing, working, stopped (got {got:?}).")
    }
}

/// The subject a signal travels on, under the bus's `prefix`.
pub fn subject(prefix: &str, signal: &Signal) -> String {
    format!("{prefix}-signal.{}.{}", signal.customer_id, signal.kind)
}

/// The subjects of every signal under `prefix`.
pub fn all_subjects(prefix: &str) -> String {
    format!("{prefix}-signal.>")
}
