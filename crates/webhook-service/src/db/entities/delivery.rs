//! The `deliveries` table: the delivery log, one row per event (or ping)
//! and endpoint, updated by each attempt.

use sea_orm::entity::prelude::*;
use talk_types::CustomerId;

use crate::{DeliveryId, WebhookId};

/// One delivery and the outcome of its last attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    /// Its id (time-ordered: the log's order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeliveryId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The endpoint's customer.
    pub customer_id: CustomerId,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub message_id: String,
    /// The event's name as the endpoint receives it (`ping` for a test).
    pub event_type: String,
    /// The event's bus position; 0 for a ping.
    pub event_seq: i64,
    /// The JSON body sent.
    pub body: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (or, while one is in flight, when its
    /// claim lapses); `None` once done.
    pub tm_next_attempt: Option<DateTimeUtc>,
    /// The last answer's HTTP status.
    pub response_status: Option<i32>,
    /// The last attempt's duration.
    pub latency_ms: Option<i32>,
    /// The start of the last answer's body.
    pub response_body: Option<String>,
    /// Why the last attempt got no answer.
    pub error: Option<String>,
    /// When it was queued.
    pub tm_create: DateTimeUtc,
    /// When it last changed.
    pub tm_update: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
