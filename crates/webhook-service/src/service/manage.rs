//! Managing endpoints: create, list, read, replace, delete, rotate the
//! secret, read the delivery log and send a ping. Admins of the customer
//! only; every query is scoped to the caller's customer.
//!
//! An endpoint may belong to one agent of the customer (a bot): it then
//! hears only the talks that agent is in. Its creation records the talks
//! the agent is in at that moment; the consumer follows its joins and
//! leaves from then on.
//!
//! Every write takes an `Idempotency-Key` (talk-store's skeleton): a retry
//! gets the first answer — the secret too, for a create or a rotation; the
//! record sits beside the secret in this schema, and expires with the key.

use sea_orm::{ConnectionTrait, DatabaseBackend, IntoActiveModel, Set};
use talk_auth::Caller;
use talk_proto::WriteOptions;
use talk_store::idempotency::{Operation, Scope};
use talk_store::write::{Begun, Write};
use talk_types::{AgentId, ApiError, CustomerId, Reason, TalkId, time};

use super::Webhooks;
use super::address;
use super::endpoint::{Endpoint, to_wire};
use super::event::render;
use super::naming::{self, DISABLED, Naming, PING};
use super::signing;
use crate::db::entities::{delivery, endpoint};
use crate::db::queries::{agent_talks, deliveries, endpoints};
use crate::error::{Problem, db};
use crate::{DeliveryId, WebhookId};

/// Longest description.
const MAX_DESCRIPTION: usize = 1000;
/// Most talks one endpoint may name.
const MAX_TALKS: usize = 100;
/// Largest page of the delivery log.
const MAX_PAGE: u32 = 100;

/// What an endpoint is: where, which events, which names.
#[derive(Clone, Debug, Default)]
pub struct Definition {
    /// Where events are posted.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Event names (either naming); empty: every event.
    pub event_types: Vec<String>,
    /// Talk ids; empty: every talk of the customer.
    pub talk_ids: Vec<String>,
    /// `voipbin` (or empty) or `seed`.
    pub naming: String,
    /// One delivery at a time, in bus order.
    pub ordered: bool,
}

/// A definition that passed every check, in its stored form.
struct Checked {
    url: String,
    description: String,
    event_types: String,
    talk_ids: String,
    naming: Naming,
    ordered: bool,
}

fn admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::of(
            Reason::PermissionDenied,
            "Only admins of the customer manage webhooks.",
        ))
    }
}

impl Webhooks {
    async fn check(&self, definition: Definition) -> Result<Checked, ApiError> {
        let Definition {
            url,
            description,
            event_types,
            talk_ids,
            naming,
            ordered,
        } = definition;
        let url = address::check(url.trim(), self.settings.allow_private).await?;
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(ApiError::of(
                Reason::FieldTooLong,
                format!("description is longer than {MAX_DESCRIPTION} characters."),
            ));
        }
        let mut types: Vec<String> = Vec::new();
        for name in event_types {
            if !naming::is_known(&name) {
                return Err(Problem::InvalidEventType.with(format!(
                    "event_types: {name:?} is not an event (e.g. chatmessage_created or message_created)."
                )));
            }
            if !types.contains(&name) {
                types.push(name);
            }
        }
        if talk_ids.len() > MAX_TALKS {
            return Err(ApiError::of(
                Reason::TooManyIds,
                format!("talk_ids: at most {MAX_TALKS} talks."),
            ));
        }
        let mut talks: Vec<String> = Vec::new();
        for id in talk_ids {
            let id = TalkId::parse("talk_ids", &id)?.to_string();
            if !talks.contains(&id) {
                talks.push(id);
            }
        }
        Ok(Checked {
            url: url.to_string(),
            description,
            event_types: types.join(","),
            talk_ids: talks.join(","),
            naming: Naming::parse(&naming)?,
            ordered,
        })
    }

    /// Opens a write claiming `options`' key under `scope`, or answers the
    /// first request's answer (`Err`) to a retry.
    pub(super) async fn open<T: prost::Message + Default>(
        &self,
        scope: &Scope,
        options: Option<&WriteOptions>,
    ) -> Result<Result<Write, T>, ApiError> {
        Ok(match self.writes.begin(scope, options).await? {
            Begun::Fresh(write) => Ok(write),
            Begun::Replay(answer) => Err(answer),
        })
    }

    pub(super) async fn own(&self, caller: &Caller, id: &str) -> Result<endpoint::Model, ApiError> {
        admin(caller)?;
        let id = WebhookId::parse("id", id)?;
        endpoints::find(&self.db, caller.customer_id, id)
            .await
            .map_err(db)?
            .ok_or_else(Problem::not_found)
    }

    /// Adds an endpoint with a new secret (of `agent_id` when not empty);
    /// the answer shows the secret.
    pub async fn create(
        &self,
        caller: &Caller,
        definition: Definition,
        agent_id: &str,
        options: Option<&WriteOptions>,
    ) -> Result<talk_proto::Webhook, ApiError> {
        admin(caller)?;
        let scope = Scope::new(caller.agent_id, Operation::CreateWebhook, caller.agent_id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let checked = self.check(definition).await?;
        let agent = match agent_id {
            "" => None,
            id => Some(AgentId::parse("agent_id", id)?),
        };
        let talks = match agent {
            Some(agent) => {
                self.directory.require_agent(caller, agent).await?;
                self.directory.talks_of(caller, agent).await?
            }
            None => Vec::new(),
        };
        let now = time::now();
        let write = match self.open(&scope, options).await? {
            Ok(write) => write,
            Err(answer) => return Ok(answer),
        };
        let txn = write.txn();
        if txn.get_database_backend() == DatabaseBackend::Postgres {
            // Creates of one customer take turns, so the cap holds under races.
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock(hashtext('webhooks.{}'))",
                caller.customer_id
            ))
            .await
            .map_err(db)?;
        }
        let count = endpoints::count(txn, caller.customer_id)
            .await
            .map_err(db)?;
        if count >= u64::from(self.settings.max_per_customer) {
            return Err(Problem::TooManyWebhooks.with(format!(
                "A customer has at most {} webhooks.",
                self.settings.max_per_customer
            )));
        }
        let row = endpoints::insert(
            txn,
            endpoint::Model {
                id: WebhookId::new(),
                customer_id: caller.customer_id,
                url: checked.url,
                description: checked.description,
                event_types: checked.event_types,
                talk_ids: checked.talk_ids,
                naming: checked.naming.as_str().to_owned(),
                secret: signing::generate(),
                previous_secret: None,
                tm_previous_secret_expire: None,
                disabled_reason: None,
                consecutive_failures: 0,
                tm_failing_since: None,
                tm_create: now,
                tm_update: now,
                agent_id: agent,
                ordered: checked.ordered,
            },
        )
        .await
        .map_err(db)?;
        if let Some(agent) = agent {
            agent_talks::add(txn, talks.into_iter().map(|talk| (agent, talk)))
                .await
                .map_err(db)?;
        }
        tracing::info!(webhook_id = %row.id, customer_id = %row.customer_id, "webhook created");
        let answer = to_wire(row, true);
        write.commit(&answer).await?;
        Ok(answer)
    }

    /// The customer's endpoints, newest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<talk_proto::Webhook>, ApiError> {
        admin(caller)?;
        let rows = endpoints::list(&self.db, caller.customer_id)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(|row| to_wire(row, false)).collect())
    }

    /// One endpoint.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<talk_proto::Webhook, ApiError> {
        Ok(to_wire(self.own(caller, id).await?, false))
    }

    /// Replaces an endpoint's definition; `enabled` enables it (ending a
    /// run of failures) or disables it (its pending deliveries end).
    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        definition: Definition,
        enabled: bool,
        options: Option<&WriteOptions>,
    ) -> Result<talk_proto::Webhook, ApiError> {
        admin(caller)?;
        let scope = Scope::new(caller.agent_id, Operation::UpdateWebhook, id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let row = self.own(caller, id).await?;
        let checked = self.check(definition).await?;
        let now = time::now();
        let was_enabled = row.disabled_reason.is_none();
        let mut change = row.clone().into_active_model();
        change.url = Set(checked.url);
        change.description = Set(checked.description);
        change.event_types = Set(checked.event_types);
        change.talk_ids = Set(checked.talk_ids);
        change.naming = Set(checked.naming.as_str().to_owned());
        change.ordered = Set(checked.ordered);
        change.tm_update = Set(now);
        if enabled && !was_enabled {
            change.disabled_reason = Set(None);
            change.consecutive_failures = Set(0);
            change.tm_failing_since = Set(None);
        } else if !enabled && was_enabled {
            change.disabled_reason = Set(Some("manual".to_owned()));
        }
        let write = match self.open(&scope, options).await? {
            Ok(write) => write,
            Err(answer) => return Ok(answer),
        };
        let row = endpoints::update(write.txn(), change).await.map_err(db)?;
        if !enabled && was_enabled {
            deliveries::fail_pending(write.txn(), row.id, "endpoint disabled", now)
                .await
                .map_err(db)?;
        }
        let answer = to_wire(row, false);
        write.commit(&answer).await?;
        Ok(answer)
    }

    /// Deletes an endpoint and its log; answers it as it was.
    pub async fn delete(
        &self,
        caller: &Caller,
        id: &str,
        options: Option<&WriteOptions>,
    ) -> Result<talk_proto::Webhook, ApiError> {
        admin(caller)?;
        let scope = Scope::new(caller.agent_id, Operation::DeleteWebhook, id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let row = self.own(caller, id).await?;
        let write = match self.open(&scope, options).await? {
            Ok(write) => write,
            Err(answer) => return Ok(answer),
        };
        if !endpoints::delete(write.txn(), caller.customer_id, row.id)
            .await
            .map_err(db)?
        {
            return Err(Problem::not_found());
        }
        let answer = to_wire(row, false);
        write.commit(&answer).await?;
        Ok(answer)
    }

    /// A new secret; the current one keeps signing for the grace period
    /// (both signatures are sent). The answer shows the new secret.
    pub async fn rotate(
        &self,
        caller: &Caller,
        id: &str,
        options: Option<&WriteOptions>,
    ) -> Result<talk_proto::Webhook, ApiError> {
        admin(caller)?;
        let scope = Scope::new(caller.agent_id, Operation::RotateWebhookSecret, id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let row = self.own(caller, id).await?;
        let now = time::now();
        let grace =
            chrono::Duration::from_std(self.settings.secret_grace).unwrap_or(chrono::Duration::MAX);
        let mut change = row.clone().into_active_model();
        change.previous_secret = Set(Some(row.secret));
        change.tm_previous_secret_expire = Set(Some(now + grace));
        change.secret = Set(signing::generate());
        change.tm_update = Set(now);
        let write = match self.open(&scope, options).await? {
            Ok(write) => write,
            Err(answer) => return Ok(answer),
        };
        let row = endpoints::update(write.txn(), change).await.map_err(db)?;
        let answer = to_wire(row, true);
        write.commit(&answer).await?;
        Ok(answer)
    }

    /// A page of the endpoint's delivery log, newest first.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        id: &str,
        page_size: u32,
        page_token: &str,
    ) -> Result<talk_proto::WebhookDeliveryPage, ApiError> {
        let row = self.own(caller, id).await?;
        let size = if page_size == 0 || page_size > MAX_PAGE {
            MAX_PAGE
        } else {
            page_size
        };
        let before = match page_token {
            "" => None,
            token => Some(DeliveryId::parse("page_token", token)?),
        };
        let rows = deliveries::page(
            &self.db,
            caller.customer_id,
            row.id,
            before,
            u64::from(size),
        )
        .await
        .map_err(db)?;
        let next_page_token = match rows.last() {
            Some(last) if rows.len() == size as usize => last.id.to_string(),
            _ => String::new(),
        };
        Ok(talk_proto::WebhookDeliveryPage {
            deliveries: rows.into_iter().map(delivery_to_wire).collect(),
            next_page_token,
        })
    }

    /// Queues a signed ping to the endpoint (even a disabled one is not
    /// sent to: enable it first).
    pub async fn test(
        &self,
        caller: &Caller,
        id: &str,
        options: Option<&WriteOptions>,
    ) -> Result<talk_proto::WebhookDelivery, ApiError> {
        admin(caller)?;
        let scope = Scope::new(caller.agent_id, Operation::TestWebhook, id);
        if let Some(answer) = self.writes.recorded(&scope, options).await? {
            return Ok(answer);
        }
        let row = self.own(caller, id).await?;
        if row.disabled_reason.is_some() {
            return Err(ApiError::of(
                Reason::InvalidArgument,
                "The webhook is disabled; enable it before testing it.",
            ));
        }
        let data = serde_json::json!({
            "webhook_id": row.id.to_string(),
            "customer_id": row.customer_id.to_string(),
        });
        let ping = notice(row.id, row.customer_id, PING, &data, time::now());
        let write = match self.open(&scope, options).await? {
            Ok(write) => write,
            Err(answer) => return Ok(answer),
        };
        deliveries::insert_many(write.txn(), vec![ping.clone()])
            .await
            .map_err(db)?;
        let answer = delivery_to_wire(ping);
        write.commit(&answer).await?;
        self.wake.notify_one();
        Ok(answer)
    }
}

/// A delivery to `endpoint` of a notice of Talk's own (no bus event):
/// a ping, or that another endpoint was disabled.
fn notice(
    endpoint: WebhookId,
    customer: CustomerId,
    kind: &str,
    data: &serde_json::Value,
    now: time::Timestamp,
) -> delivery::Model {
    let id = DeliveryId::new();
    delivery::Model {
        id,
        endpoint_id: endpoint,
        customer_id: customer,
        message_id: format!("msg_{}_{}", kind.replace('_', ""), id.0.simple()),
        event_type: kind.to_owned(),
        event_seq: 0,
        body: render(kind, time::to_micros(&now), data),
        status: deliveries::PENDING.to_owned(),
        attempts: 0,
        tm_next_attempt: Some(now),
        response_status: None,
        latency_ms: None,
        response_body: None,
        error: None,
        tm_create: now,
        tm_update: now,
    }
}

/// Disables `disabled` for failing, in `txn`: its pending deliveries end,
/// and every other enabled endpoint of its customer that hears notices gets
/// a `webhook_disabled` with the endpoint as it is now (secret left out).
/// Answers how many notices were queued.
pub async fn disable_failing<C: ConnectionTrait>(
    txn: &C,
    disabled: &endpoint::Model,
    now: time::Timestamp,
) -> Result<usize, sea_orm::DbErr> {
    endpoints::disable(txn, disabled.id, "failing", now).await?;
    deliveries::fail_pending(txn, disabled.id, "endpoint disabled", now).await?;
    let data = serde_json::json!({
        "id": disabled.id.to_string(),
        "customer_id": disabled.customer_id.to_string(),
        "url": disabled.url,
        "description": disabled.description,
        "status": "disabled",
        "disabled_reason": "failing",
        "consecutive_failures": disabled.consecutive_failures,
        "tm_failing_since": disabled.tm_failing_since.map(|t| time::format(&t)),
    });
    let notices: Vec<delivery::Model> = endpoints::of_customers(txn, [disabled.customer_id])
        .await?
        .into_iter()
        .filter(|row| row.id != disabled.id && row.disabled_reason.is_none())
        .map(Endpoint::from)
        .filter(Endpoint::hears_notices)
        .map(|to| notice(to.id, to.customer, DISABLED, &data, now))
        .collect();
    let queued = notices.len();
    deliveries::insert_many(txn, notices).await?;
    Ok(queued)
}

/// A delivery on the wire.
pub fn delivery_to_wire(row: delivery::Model) -> talk_proto::WebhookDelivery {
    let delivery::Model {
        id,
        endpoint_id,
        customer_id: _,
        message_id,
        event_type,
        event_seq,
        body: _,
        status,
        attempts,
        tm_next_attempt,
        response_status,
        latency_ms,
        response_body,
        error,
        tm_create,
        tm_update,
    } = row;
    let pending = status == deliveries::PENDING;
    talk_proto::WebhookDelivery {
        id: id.to_string(),
        webhook_id: endpoint_id.to_string(),
        message_id,
        event_type,
        event_seq: u64::try_from(event_seq).unwrap_or(0),
        status,
        attempts: u32::try_from(attempts).unwrap_or(0),
        response_status: response_status
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0),
        latency_ms: latency_ms.and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
        response_body: response_body.unwrap_or_default(),
        error: error.unwrap_or_default(),
        tm_create: time::to_micros(&tm_create),
        tm_next_attempt: tm_next_attempt
            .filter(|_| pending)
            .map_or(0, |t| time::to_micros(&t)),
        tm_update: time::to_micros(&tm_update),
    }
}
