//! message-service's rules: posting, reading, editing, deleting, reactions,
//! read state and the system messages written from bus events.

mod access;
mod batch;
mod edit;
pub mod emoji;
mod files;
mod limits;
mod mentions;
mod post;
mod reactions;
mod read;
mod read_state;
mod rounds;
pub mod search;
pub mod system;
pub mod validate;

use sea_orm::{DatabaseConnection, DatabaseTransaction};
use talk_events::DomainEvent;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_proto::{Message, WriteOptions};
use talk_runtime::Channel;
use talk_store::idempotency::{Operation, Scope};
use talk_store::{Begun, Outbox, Write, Writes, db_error};
use talk_types::{ApiError, MessageId, Reason};

pub use limits::Limits;
pub use post::NewMessage;
pub use talk_auth::Caller;

use crate::db::entities::message;
use crate::db::queries;
use crate::wire;

/// The service state shared by every handler.
#[derive(Clone)]
pub struct Messages {
    db: DatabaseConnection,
    outbox: Outbox,
    writes: Writes,
    batches: std::sync::Arc<batch::Batches>,
    checks: std::sync::Arc<
        rounds::Rounds<batch::Key, talk_proto::Caller, Result<talk_proto::Access, ApiError>>,
    >,
    talks: TalkServiceClient<Channel>,
    agents: AgentServiceClient<Channel>,
    files: Option<talk_proto::file_service_client::FileServiceClient<Channel>>,
    limits: Limits,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages").finish_non_exhaustive()
    }
}

impl Messages {
    /// Messages stored in `db`, announced through `outbox`, checking access
    /// with talk-service at `talk_url` and naming agents with agent-service at
    /// `agent_url`, calling both with `internal`'s token, with the default caps.
    pub fn new(
        db: DatabaseConnection,
        outbox: Outbox,
        talk_url: &str,
        agent_url: &str,
        internal: &talk_runtime::Internal,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            writes: Writes::new(db.clone(), outbox.clone()),
            db,
            outbox,
            batches: Default::default(),
            checks: std::sync::Arc::new(rounds::Rounds::new(64)),
            talks: TalkServiceClient::new(talk_runtime::channel(talk_url, internal)?),
            agents: AgentServiceClient::new(talk_runtime::channel(agent_url, internal)?),
            files: None,
            limits: Limits::default(),
        })
    }

    /// The same service with the caps `limits`.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// Opens the write of a change of message `id`. A retry whose first
    /// answer is recorded replays it (whatever the message or the talk is
    /// now). Else the caller's write access is checked — a call to
    /// talk-service, made before any transaction opens — then the write
    /// opens with the key claimed and the live message locked. Answers the
    /// write, the message and the audience of the change's event (the access
    /// check's `recent_member_ids`), or the replay.
    async fn begin_change<T: prost::Message + Default>(
        &self,
        caller: &Caller,
        id: MessageId,
        scope: &Scope,
        options: Option<&WriteOptions>,
    ) -> Result<Result<Change, T>, ApiError> {
        if let Some(replay) = self.writes.recorded(scope, options).await? {
            return Ok(Err(replay));
        }
        let live = |row: Option<message::Model>| {
            row.filter(|r| r.tm_delete.is_none()).ok_or_else(not_found)
        };
        let row = live(
            queries::messages::find(&self.db, caller.customer_id, id)
                .await
                .map_err(db_error)?,
        )?;
        let access = self.write_access(caller, row.talk_id).await?;
        let write = match self.writes.begin::<T>(scope, options).await? {
            Begun::Fresh(write) => write,
            Begun::Replay(replay) => return Ok(Err(replay)),
        };
        let row = live(
            queries::messages::find_for_update(write.txn(), caller.customer_id, id)
                .await
                .map_err(db_error)?,
        )?;
        Ok(Ok(Change {
            write,
            row,
            audience: access.recent_member_ids,
        }))
    }
}

/// An open change of one message: its write, the locked row and who, beyond
/// the talk's members, hears of it.
struct Change {
    write: Write,
    row: message::Model,
    audience: Vec<String>,
}

impl Change {
    /// Announces `event` of the changed message to its talk and commits,
    /// answering `message`.
    async fn publish<E: DomainEvent>(
        self,
        event: impl FnOnce(Message) -> E,
        message: Message,
    ) -> Result<Message, ApiError> {
        let Self {
            mut write,
            row,
            audience,
        } = self;
        write
            .event(event(message.clone()), row.customer_id, row.talk_id)
            .audience = audience;
        write.commit(&message).await?;
        Ok(message)
    }
}

/// The talk's next change number, for a change of `row` (takes the talk's
/// counter lock).
async fn next_change(txn: &DatabaseTransaction, row: &message::Model) -> Result<i64, ApiError> {
    let bump = queries::counters::Bump {
        message_at: None,
        changes: 1,
    };
    let counters = queries::counters::bump(txn, row.customer_id, row.talk_id, bump)
        .await
        .map_err(db_error)?;
    Ok(counters.last_change)
}

/// A stored message with its reactions, as the wire shows it.
async fn load<C: sea_orm::ConnectionTrait>(
    db: &C,
    row: message::Model,
) -> Result<Message, ApiError> {
    let reactions = queries::reactions::for_messages(db, &[row.id])
        .await
        .map_err(db_error)?;
    Ok(wire::message(row, &reactions))
}

/// Many stored messages with their reactions, in the given order.
async fn load_many<C: sea_orm::ConnectionTrait>(
    db: &C,
    rows: Vec<message::Model>,
) -> Result<Vec<Message>, ApiError> {
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let reactions = queries::reactions::for_messages(db, &ids)
        .await
        .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|row| wire::message(row, &reactions))
        .collect())
}

/// 404 MESSAGE_NOT_FOUND.
fn not_found() -> ApiError {
    ApiError::from(Reason::MessageNotFound)
}
