//! The `endpoints` table: one row per webhook endpoint of a customer.

use sea_orm::entity::prelude::*;
use talk_types::{AgentId, CustomerId};

use crate::WebhookId;

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "endpoints")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: WebhookId,
    /// Its customer: the only one whose events it receives.
    pub customer_id: CustomerId,
    /// Where events are posted.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Event names it receives, comma-separated; empty: every event.
    pub event_types: String,
    /// Talk ids it receives events of, comma-separated; empty: every talk.
    pub talk_ids: String,
    /// `voipbin` or `seed`: which names its events carry.
    pub naming: String,
    /// `whsec_<base64>`: the key that signs. Kept in the clear: HMAC needs it.
    pub secret: String,
    /// The secret before the last rotation, signing too until `tm_previous_secret_expire`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub tm_previous_secret_expire: Option<DateTimeUtc>,
    /// `None` while enabled; `manual` or `failing` once disabled.
    pub disabled_reason: Option<String>,
    /// Failed attempts in a row.
    pub consecutive_failures: i32,
    /// When the current run of failed attempts began.
    pub tm_failing_since: Option<DateTimeUtc>,
    /// When it was created.
    pub tm_create: DateTimeUtc,
    /// When it last changed.
    pub tm_update: DateTimeUtc,
    /// The agent whose talks it hears (a bot's endpoint); `None`: the customer's.
    pub agent_id: Option<AgentId>,
    /// One delivery at a time, in bus order (a failing one holds back the rest).
    pub ordered: bool,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
