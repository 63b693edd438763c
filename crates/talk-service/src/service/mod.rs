//! The rules of talks and participants. Every write is one transaction:
//! claim the idempotency key, lock the talk, check the rules, write the rows,
//! stage the events, record the response, commit, then wake the outbox relay.

mod access;
pub mod activity;
pub mod agents;
pub mod archive;
pub mod convert;
mod create;
mod directory;
mod lifecycle;
mod limits;
mod membership;
mod read;
mod roles;
mod signals;

use sea_orm::DatabaseConnection;
use talk_events::EventEnvelope;
use talk_events::kinds::DomainEvent;
use talk_proto::WriteOptions;
use talk_store::idempotency::{Operation, Scope};
use talk_store::{Begun, Outbox, Write, Writes};
use talk_types::{ApiError, TalkId};

use access::Seen;

pub use activity::Activity;
pub use agents::Agents;
pub use archive::Sweeper;
pub use create::NewTalk;
pub use limits::Limits;

use crate::db::entities::talk;

/// Longest talk name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest talk detail, in characters.
pub const MAX_DETAIL_CHARS: usize = 4096;

pub use talk_auth::Caller;

/// talk-service's domain: the database, the outbox, the agent directory,
/// the caps and, when it runs, the consumer that records talk activity.
#[derive(Clone)]
pub struct Talks {
    db: DatabaseConnection,
    writes: Writes,
    agents: Agents,
    limits: Limits,
    activity: Option<Activity>,
}

/// talk-service's writes: each event is about a talk.
trait TalkEvents {
    /// Queues `event` about `talk` (staged at commit, after the talk's lock).
    fn event_about<E: DomainEvent>(&mut self, event: E, talk: &talk::Model) -> &mut EventEnvelope;
}

impl TalkEvents for Write {
    fn event_about<E: DomainEvent>(&mut self, event: E, talk: &talk::Model) -> &mut EventEnvelope {
        self.event(event, talk.customer_id, talk.talk_id())
    }
}

impl Talks {
    /// The domain over `db`, staging events in `outbox`, checking agents
    /// with `agents`, with the default caps.
    pub fn new(db: DatabaseConnection, outbox: Outbox, agents: Agents) -> Self {
        Self {
            writes: Writes::new(db.clone(), outbox),
            db,
            agents,
            limits: Limits::default(),
            activity: None,
        }
    }

    /// The same domain with the caps `limits`.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// The same domain, whose archive sweeps wait for `activity` to have
    /// applied the bus (without it they go by the activity recorded so far).
    #[must_use]
    pub fn with_activity(self, activity: Activity) -> Self {
        Self {
            activity: Some(activity),
            ..self
        }
    }
}

impl Talks {
    /// Opens `caller`'s `operation` on talk `id`: claims the key (a retry
    /// gets the first answer instead) and locks the live talk, so one talk's
    /// writes and events are in commit order.
    async fn begin_on<T: prost::Message + Default>(
        &self,
        caller: &Caller,
        operation: Operation,
        id: TalkId,
        options: Option<&WriteOptions>,
    ) -> Result<Result<(Write, Seen), T>, ApiError> {
        let write = match self
            .writes
            .begin(&scope(caller, operation, id), options)
            .await?
        {
            Begun::Fresh(write) => write,
            Begun::Replay(replay) => return Ok(Err(replay)),
        };
        let seen = access::lock(write.txn(), caller, id).await?;
        Ok(Ok((write, seen)))
    }
}

/// The idempotency scope of `caller`'s `operation` on `talk`.
fn scope(caller: &Caller, operation: Operation, talk: impl std::fmt::Display) -> Scope {
    Scope::new(caller.agent_id, operation, talk)
}
