//! Idempotency records: a retried write with the same `Idempotency-Key`
//! returns the first response; the same key with another request is a 422.
//!
//! The record is claimed first in the write's own transaction, so two
//! concurrent requests with one key serialise on its primary key: the second
//! waits, fails to insert, and replays the first's committed response.
//!
//! A record answers for [`expiry::WINDOW`] (24 hours): after that it is as
//! if it were not there — a lookup finds nothing and a claim takes its place
//! — until the background purge ([`expiry::Purge`]) deletes it.

use std::fmt::Display;

use prost::Message;
use sea_orm::ExprTrait;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use talk_proto::WriteOptions;
use talk_types::{ApiError, Reason, time};

use crate::{db_error, expiry};

/// The `idempotency` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One idempotent request and its response.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency")]
    pub struct Model {
        /// Who sent it to which write of what ([`super::Scope`]).
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        /// The client's key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Hash of the public request.
        pub request_hash: String,
        /// The encoded response, once the first request committed.
        pub response: Option<Vec<u8>>,
        /// When it was first seen.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The writes whose requests are idempotent, as their records name them
/// (the gRPC method).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `AgentService/CreateAgent`.
    CreateAgent,
    /// `AgentService/UpdateAgent`.
    UpdateAgent,
    /// `AgentService/DeleteAgent`.
    DeleteAgent,
    /// `AgentService/ChangePassword`.
    ChangePassword,
    /// `TalkService/CreateTalk`.
    CreateTalk,
    /// `TalkService/UpdateTalk`.
    UpdateTalk,
    /// `TalkService/DeleteTalk`.
    DeleteTalk,
    /// `TalkService/CloseTalk`.
    CloseTalk,
    /// `TalkService/ReopenTalk`.
    ReopenTalk,
    /// `TalkService/JoinTalk`.
    JoinTalk,
    /// `TalkService/LeaveTalk`.
    LeaveTalk,
    /// `TalkService/AddParticipant`.
    AddParticipant,
    /// `TalkService/RemoveParticipant`.
    RemoveParticipant,
    /// `TalkService/SetParticipantRole`.
    SetParticipantRole,
    /// `MessageService/PostMessage`.
    PostMessage,
    /// `MessageService/EditMessage`.
    EditMessage,
    /// `MessageService/DeleteMessage`.
    DeleteMessage,
    /// `MessageService/AddReaction`.
    AddReaction,
    /// `MessageService/RemoveReaction`.
    RemoveReaction,
    /// `MessageService/MarkRead`.
    MarkRead,
    /// `FileService/Upload`.
    UploadFile,
    /// `FileService/DeleteFile`.
    DeleteFile,
    /// `WebhookService/CreateWebhook`.
    CreateWebhook,
    /// `WebhookService/UpdateWebhook`.
    UpdateWebhook,
    /// `WebhookService/DeleteWebhook`.
    DeleteWebhook,
    /// `WebhookService/RotateWebhookSecret`.
    RotateWebhookSecret,
    /// `WebhookService/ReplayWebhook`.
    ReplayWebhook,
    /// `WebhookService/TestWebhook`.
    TestWebhook,
}

impl Operation {
    /// Its name in the records.
    pub fn name(self) -> &'static str {
        match self {
            Self::CreateAgent => "CreateAgent",
            Self::UpdateAgent => "UpdateAgent",
            Self::DeleteAgent => "DeleteAgent",
            Self::ChangePassword => "ChangePassword",
            Self::CreateTalk => "CreateTalk",
            Self::UpdateTalk => "UpdateTalk",
            Self::DeleteTalk => "DeleteTalk",
            Self::CloseTalk => "CloseTalk",
            Self::ReopenTalk => "ReopenTalk",
            Self::JoinTalk => "JoinTalk",
            Self::LeaveTalk => "LeaveTalk",
            Self::AddParticipant => "AddParticipant",
            Self::RemoveParticipant => "RemoveParticipant",
            Self::SetParticipantRole => "SetParticipantRole",
            Self::PostMessage => "PostMessage",
            Self::EditMessage => "EditMessage",
            Self::DeleteMessage => "DeleteMessage",
            Self::AddReaction => "AddReaction",
            Self::RemoveReaction => "RemoveReaction",
            Self::MarkRead => "MarkRead",
            Self::UploadFile => "UploadFile",
            Self::DeleteFile => "DeleteFile",
            Self::CreateWebhook => "CreateWebhook",
            Self::UpdateWebhook => "UpdateWebhook",
            Self::DeleteWebhook => "DeleteWebhook",
            Self::RotateWebhookSecret => "RotateWebhookSecret",
            Self::ReplayWebhook => "ReplayWebhook",
            Self::TestWebhook => "TestWebhook",
        }
    }
}

/// Whose request to which write of what a key belongs to: a key is the
/// caller's own, per operation and target, so one key sent to two writes
/// names two records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    /// `caller`'s `operation` on `target` (the talk or message written; the
    /// caller itself for a create).
    pub fn new(caller: impl Display, operation: Operation, target: impl Display) -> Self {
        Self(format!("{caller}:{}:{target}", operation.name()))
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim<T> {
    /// No key, or a new key: do the write.
    Fresh,
    /// A retry: return this response and write nothing.
    Replay(T),
}

/// Claims `key` in `txn`. On [`Claim::Replay`], drop `txn`.
///
/// The insert's `ON CONFLICT` waits for a concurrent claim of the same key
/// to commit or roll back, and a read-committed statement after it sees the
/// winner's row, so the existing record is read through `txn` itself. An
/// expired record is taken over (a new request, a new record), a live one
/// left as it is.
pub async fn claim<T: Message + Default>(
    txn: &DatabaseTransaction,
    key: &Key,
) -> Result<Claim<T>, ApiError> {
    use entity::Column;
    let row = entity::ActiveModel {
        scope: Set(key.scope.clone()),
        key: Set(key.key.clone()),
        request_hash: Set(key.request_hash.clone()),
        response: Set(None),
        created_at: Set(time::now()),
    };
    let take_expired = OnConflict::columns([Column::Scope, Column::Key])
        .update_columns([Column::RequestHash, Column::Response, Column::CreatedAt])
        .action_and_where(Expr::col((entity::Entity, Column::CreatedAt)).lt(expiry::cutoff()))
        .to_owned();
    let claimed = entity::Entity::insert(row)
        .on_conflict(take_expired)
        .exec_without_returning(txn)
        .await
        .map_err(db_error)?;
    if claimed > 0 {
        return Ok(Claim::Fresh);
    }
    let in_progress =
        || conflict("The first request with this Idempotency-Key is still in progress.");
    match lookup(txn, key).await? {
        Some(response) => Ok(Claim::Replay(response)),
        None => Err(in_progress()),
    }
}

fn conflict(message: &str) -> ApiError {
    ApiError::of(Reason::IdempotencyKeyInProgress, message)
}

/// Records the response of a fresh claim of `key`, in the same transaction.
pub async fn complete<T: Message>(
    txn: &DatabaseTransaction,
    key: &Key,
    response: &T,
) -> Result<(), ApiError> {
    entity::Entity::update_many()
        .col_expr(
            entity::Column::Response,
            Expr::value(response.encode_to_vec()),
        )
        .filter(entity::Column::Scope.eq(key.scope.as_str()))
        .filter(entity::Column::Key.eq(key.key.as_str()))
        .exec(txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// One write's idempotency record to be: who sent it to which operation and
/// target (`scope`), the client's key and the hash of the public request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// `<caller>:<operation>:<target>`.
    pub scope: String,
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// Hash of method, path and body.
    pub request_hash: String,
}

impl Key {
    /// The record `options` asks for under `scope`; None without a key.
    pub fn of(scope: &Scope, options: Option<&WriteOptions>) -> Option<Self> {
        let options = options.filter(|o| !o.idempotency_key.is_empty())?;
        Some(Self {
            scope: scope.as_str().to_owned(),
            key: options.idempotency_key.clone(),
            request_hash: options.request_hash.clone(),
        })
    }
}

/// The answer already recorded for `key`, if its first request committed
/// within [`expiry::WINDOW`]: a retry gets it without writing (or checking)
/// anything again. The same key with another request is a 422. None also
/// when the first request is still in progress (the write's own claim waits
/// for it) and when the record has expired (the key is new again).
pub async fn lookup<T: Message + Default, C: ConnectionTrait>(
    db: &C,
    key: &Key,
) -> Result<Option<T>, ApiError> {
    let Some(existing) = entity::Entity::find_by_id((key.scope.clone(), key.key.clone()))
        .one(db)
        .await
        .map_err(db_error)?
        .filter(|record| !expiry::expired(&record.created_at))
    else {
        return Ok(None);
    };
    if existing.request_hash != key.request_hash {
        return Err(reused());
    }
    existing
        .response
        .map(|bytes| T::decode(bytes.as_slice()).map_err(|_| ApiError::internal()))
        .transpose()
}

fn reused() -> ApiError {
    ApiError::of(
        Reason::IdempotencyKeyReused,
        "This Idempotency-Key was already used with a different request.",
    )
}

/// Records `keys` with their responses in one statement, in the caller's
/// transaction: the claim and the completion at once, for writes that know
/// their answer before they commit. A key recorded already (a concurrent
/// request with the same key, even one not committed yet: the insert waits
/// for it) fails the statement with a unique violation, and so the
/// transaction: the caller writes again claiming first ([`claim`]), which
/// also takes over a record that has expired.
pub async fn record<C: ConnectionTrait>(db: &C, keys: &[(Key, Vec<u8>)]) -> Result<(), DbErr> {
    if keys.is_empty() {
        return Ok(());
    }
    let now = time::now();
    let rows = keys.iter().map(|(key, response)| entity::ActiveModel {
        scope: Set(key.scope.clone()),
        key: Set(key.key.clone()),
        request_hash: Set(key.request_hash.clone()),
        response: Set(Some(response.clone())),
        created_at: Set(now),
    });
    entity::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Records for a service's own statement: `keys` with their responses as a
/// JSON array to bind as the parameter that [`insert_from_json`] names.
pub fn rows_json(keys: &[(Key, Vec<u8>)]) -> serde_json::Value {
    keys.iter()
        .map(|(key, response)| {
            serde_json::json!({
                "scope": key.scope,
                "key": key.key,
                "request_hash": key.request_hash,
                "response": hex::encode(response),
            })
        })
        .collect()
}

/// SQL (PostgreSQL) that inserts the records of [`rows_json`], bound as
/// parameter `$param`, for each row of `guard` — like [`record`], it fails
/// on a key recorded already.
pub fn insert_from_json(param: usize, guard: &str) -> String {
    format!(
        "INSERT INTO idempotency (scope, \"key\", request_hash, response, created_at) \
         SELECT k.scope, k.key, k.request_hash, decode(k.response, 'hex'), now() \
         FROM {guard}, jsonb_to_recordset(${param}::jsonb) \
           AS k(scope text, key text, request_hash text, response text)"
    )
}
