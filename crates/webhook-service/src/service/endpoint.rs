//! An endpoint as the consumer and the API read it.

use std::collections::HashSet;

use talk_types::{AgentId, CustomerId, TalkId, time};

use super::event::Event;
use super::naming::{self, DISABLED, Naming};
use crate::WebhookId;
use crate::db::entities::endpoint::Model;

/// Which agents (of agent endpoints) are in which talks.
pub type Members = HashSet<(AgentId, TalkId)>;

/// An endpoint's filters and naming.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Its id.
    pub id: WebhookId,
    /// Its customer.
    pub customer: CustomerId,
    /// Its naming.
    pub naming: Naming,
    /// The agent whose talks it hears; `None`: every talk of the customer.
    pub agent: Option<AgentId>,
    event_types: Vec<String>,
    talk_ids: Vec<TalkId>,
}

impl From<Model> for Endpoint {
    fn from(row: Model) -> Self {
        Self {
            id: row.id,
            customer: row.customer_id,
            naming: Naming::parse(&row.naming).unwrap_or(Naming::Voipbin),
            agent: row.agent_id,
            event_types: split(&row.event_types).map(str::to_owned).collect(),
            talk_ids: split(&row.talk_ids)
                .filter_map(|t| t.parse().ok())
                .collect(),
        }
    }
}

impl Endpoint {
    /// Whether `event` goes to this endpoint, `members` saying which talks
    /// agent endpoints' agents are in as it happened.
    pub fn wants(&self, event: &Event, members: &Members) -> bool {
        let types: Vec<&str> = self.event_types.iter().map(String::as_str).collect();
        event.customer == self.customer
            && naming::matches(&types, event.kind)
            && (self.talk_ids.is_empty() || self.talk_ids.contains(&event.talk))
            && self
                .agent
                .is_none_or(|agent| members.contains(&(agent, event.talk)))
    }
}

impl Endpoint {
    /// Whether it hears that another endpoint of its customer was disabled:
    /// a customer's endpoint (not an agent's) of every event or of
    /// `webhook_disabled`.
    pub fn hears_notices(&self) -> bool {
        self.agent.is_none()
            && (self.event_types.is_empty() || self.event_types.iter().any(|t| t == DISABLED))
    }
}

/// The items of a comma-separated column.
pub fn split(column: &str) -> impl Iterator<Item = &str> {
    column.split(',').filter(|s| !s.is_empty())
}

/// `row` on the wire; its secret only when `with_secret` (create, rotate).
pub fn to_wire(row: Model, with_secret: bool) -> talk_proto::Webhook {
    let Model {
        id,
        customer_id,
        url,
        description,
        event_types,
        talk_ids,
        naming,
        secret,
        previous_secret: _,
        tm_previous_secret_expire: _,
        disabled_reason,
        consecutive_failures,
        tm_failing_since,
        tm_create,
        tm_update,
        agent_id,
        ordered,
    } = row;
    talk_proto::Webhook {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        url,
        description,
        event_types: split(&event_types).map(str::to_owned).collect(),
        talk_ids: split(&talk_ids).map(str::to_owned).collect(),
        naming,
        status: if disabled_reason.is_some() {
            "disabled"
        } else {
            "enabled"
        }
        .to_owned(),
        disabled_reason: disabled_reason.unwrap_or_default(),
        secret: if with_secret { secret } else { String::new() },
        consecutive_failures: u32::try_from(consecutive_failures).unwrap_or(0),
        tm_failing_since: tm_failing_since.map_or(0, |t| time::to_micros(&t)),
        tm_create: time::to_micros(&tm_create),
        tm_update: time::to_micros(&tm_update),
        agent_id: agent_id.map(|a| a.to_string()).unwrap_or_default(),
        ordered,
    }
}
