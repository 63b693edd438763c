//! Webhooks, Talk's extension: `POST`/`GET /v1.0/webhooks`,
//! `GET`/`PUT`/`DELETE /v1.0/webhooks/{id}`, and per endpoint `rotate`
//! (a new secret), `deliveries` (the log), `replay` and `test` (a ping).
//! Admins of the customer only. The secret is in the answers of create and
//! rotate only. webhook-service checks every rule; this file extracts,
//! calls and maps.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Method;
use serde::{Deserialize, Serialize};
use talk_proto as pb;
use talk_proto::WriteOptions;
use talk_runtime::grpc::acting;
use talk_types::{ApiError, Reason, time};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Registry, doc};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Admin, Id, JsonBody, PathId, Write};

const PATH: &str = "/v1.0/webhooks";
const ONE: &str = "/v1.0/webhooks/{id}";
const ROTATE: &str = "/v1.0/webhooks/{id}/rotate";
const DELIVERIES: &str = "/v1.0/webhooks/{id}/deliveries";
const REPLAY: &str = "/v1.0/webhooks/{id}/replay";
const TEST: &str = "/v1.0/webhooks/{id}/test";

/// Registers the webhook routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "webhooks";
    registry
        .add(
            Method::POST,
            PATH,
            create,
            doc(
                tag,
                "Create a webhook endpoint (admins); the answer is the only one with its secret",
            )
            .body::<WebhookBody>()
            .ok::<Webhook>(200),
        )
        .add(
            Method::GET,
            PATH,
            list,
            doc(tag, "List the customer's webhook endpoints (admins)").ok::<WebhookPage>(200),
        )
        .add(
            Method::GET,
            ONE,
            get,
            doc(tag, "Get a webhook endpoint").ok::<Webhook>(200),
        )
        .add(
            Method::PUT,
            ONE,
            update,
            doc(
                tag,
                "Replace a webhook endpoint's definition; enable or disable it",
            )
            .body::<WebhookBody>()
            .ok::<Webhook>(200),
        )
        .add(
            Method::DELETE,
            ONE,
            delete,
            doc(tag, "Delete a webhook endpoint and its delivery log").ok::<Webhook>(200),
        )
        .add(
            Method::POST,
            ROTATE,
            rotate,
            doc(
                tag,
                "A new secret; the old one keeps signing for a grace period",
            )
            .ok::<Webhook>(200),
        )
        .add(
            Method::GET,
            DELIVERIES,
            deliveries,
            doc(tag, "The endpoint's delivery log, newest first")
                .query(
                    "page_size",
                    false,
                    "Items per page (1–100; default and cap 100).",
                )
                .query("page_token", false, "next_page_token of the previous page.")
                .ok::<WebhookDeliveryPage>(200),
        )
        .add(
            Method::POST,
            REPLAY,
            replay,
            doc(
                tag,
                "Send again every matching event after a position or since a time",
            )
            .body::<ReplayBody>()
            .ok::<ReplayReply>(200),
        )
        .add(
            Method::POST,
            TEST,
            test,
            doc(tag, "Send a signed ping").ok::<WebhookDelivery>(200),
        )
}

/// A webhook id in the path.
#[derive(Clone, Copy, Debug)]
pub struct WebhookRef(pub Uuid);

impl PathId for WebhookRef {
    fn from_uuid(value: Uuid) -> Self {
        Self(value)
    }
}

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Webhook {
    /// Its id.
    pub id: String,
    /// The customer whose events it receives.
    pub customer_id: String,
    /// Where events are posted.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Event names it receives; empty: every event.
    pub event_types: Vec<String>,
    /// Talks it receives events of; empty: every talk.
    pub talk_ids: Vec<String>,
    /// `voipbin` (`chatmessage_created`, ...) or `seed` (`message_created`, ...).
    pub naming: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// Why it is disabled: `manual` or `failing`; `null` while enabled.
    pub disabled_reason: Option<String>,
    /// `whsec_<base64>`: in the answers of create and rotate only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Failed attempts in a row.
    pub consecutive_failures: u32,
    /// When the current run of failures began; `null` when none.
    pub tm_failing_since: Option<String>,
    /// When it was created.
    pub tm_create: Option<String>,
    /// When it last changed.
    pub tm_update: Option<String>,
    /// The agent (a bot) whose talks it hears; `null`: every talk of the customer.
    pub agent_id: Option<String>,
    /// One delivery at a time, in bus order.
    pub ordered: bool,
}

fn stamp(micros: i64) -> Option<String> {
    time::from_micros(micros).map(|t| time::format(&t))
}

fn non_empty(value: String) -> Option<String> {
    Some(value).filter(|v| !v.is_empty())
}

impl From<pb::Webhook> for Webhook {
    fn from(value: pb::Webhook) -> Self {
        let pb::Webhook {
            id,
            customer_id,
            url,
            description,
            event_types,
            talk_ids,
            naming,
            status,
            disabled_reason,
            secret,
            consecutive_failures,
            tm_failing_since,
            tm_create,
            tm_update,
            agent_id,
            ordered,
        } = value;
        Self {
            id,
            customer_id,
            url,
            description,
            event_types,
            talk_ids,
            naming,
            status,
            disabled_reason: non_empty(disabled_reason),
            secret: non_empty(secret),
            consecutive_failures,
            tm_failing_since: stamp(tm_failing_since),
            tm_create: stamp(tm_create),
            tm_update: stamp(tm_update),
            agent_id: non_empty(agent_id),
            ordered,
        }
    }
}

/// The customer's endpoints.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookPage {
    /// The endpoints, newest first.
    pub result: Vec<Webhook>,
    /// Always "": every endpoint is on the one page.
    pub next_page_token: String,
}

/// One delivery of one event (or ping) to an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WebhookDelivery {
    /// Its id (the log's page token).
    pub id: String,
    /// The endpoint.
    pub webhook_id: String,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub message_id: String,
    /// The event's name (`ping` for a test).
    pub event_type: String,
    /// The event's bus position: a replay's `after`; 0 for a ping.
    pub event_seq: u64,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last answer's HTTP status; `null` when none.
    pub response_status: Option<u32>,
    /// The last attempt's duration in milliseconds; `null` before one.
    pub latency_ms: Option<u32>,
    /// The start of the last answer's body (at most 4 KiB).
    pub response_body: String,
    /// Why the last attempt got no answer.
    pub error: String,
    /// When it was queued.
    pub tm_create: Option<String>,
    /// When the next attempt is due; `null` when done.
    pub tm_next_attempt: Option<String>,
    /// When it last changed.
    pub tm_update: Option<String>,
}

impl From<pb::WebhookDelivery> for WebhookDelivery {
    fn from(value: pb::WebhookDelivery) -> Self {
        let pb::WebhookDelivery {
            id,
            webhook_id,
            message_id,
            event_type,
            event_seq,
            status,
            attempts,
            response_status,
            latency_ms,
            response_body,
            error,
            tm_create,
            tm_next_attempt,
            tm_update,
        } = value;
        Self {
            id,
            webhook_id,
            message_id,
            event_type,
            event_seq,
            status,
            response_status: Some(response_status).filter(|s| *s != 0),
            latency_ms: Some(latency_ms).filter(|_| attempts > 0),
            attempts,
            response_body,
            error,
            tm_create: stamp(tm_create),
            tm_next_attempt: stamp(tm_next_attempt),
            tm_update: stamp(tm_update),
        }
    }
}

/// A page of the delivery log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryPage {
    /// Deliveries, newest first.
    pub result: Vec<WebhookDelivery>,
    /// The id of the page's last delivery ("" on the last page).
    pub next_page_token: String,
}

/// `POST /v1.0/webhooks` and `PUT /v1.0/webhooks/{id}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WebhookBody {
    /// `https://` URL (`http://` and private addresses only when the
    /// service allows them). Required.
    pub url: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Event names (VoIPBIN's or the seed's); empty or absent: every event.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Talk ids; empty or absent: every talk of the customer.
    #[serde(default)]
    pub talk_ids: Vec<String>,
    /// `voipbin` (default) or `seed`.
    #[serde(default)]
    pub naming: String,
    /// PUT only: `false` disables the endpoint, `true` (default) enables it.
    pub enabled: Option<bool>,
    /// POST only: an agent of the customer (a bot); the endpoint then hears
    /// only the talks that agent is in, as it joins and leaves them.
    pub agent_id: Option<String>,
    /// One delivery at a time, in bus order: the next waits until the one
    /// before succeeded or ran out of retries. Default `false`.
    #[serde(default)]
    pub ordered: bool,
}

impl WebhookBody {
    fn url(&self) -> Result<String, ApiError> {
        self.url.clone().ok_or_else(|| {
            ApiError::of(
                Reason::MissingField,
                "The body needs \"url\": where events are posted.",
            )
        })
    }
}

/// `POST /v1.0/webhooks/{id}/replay`: one of `after` or `since`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReplayBody {
    /// Every matching event after this bus position (a delivery's `event_seq`).
    pub after: Option<u64>,
    /// Every matching event that occurred at or after this time (RFC 3339).
    pub since: Option<String>,
}

/// How many deliveries a replay queued.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplayReply {
    /// Deliveries queued.
    pub queued: u32,
}

/// `page_size` and `page_token` of the delivery log.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    page_size: Option<String>,
    page_token: Option<String>,
}

/// `POST /v1.0/webhooks`.
pub async fn create(
    State(state): State<AppState>,
    Admin(me): Admin,
    Write(options): Write,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<Json<Webhook>, HttpError> {
    let url = body.url()?;
    let WebhookBody {
        url: _,
        description,
        event_types,
        talk_ids,
        naming,
        enabled: _,
        agent_id,
        ordered,
    } = body;
    let webhook = state
        .clients
        .webhooks
        .clone()
        .create_webhook(acting(
            me.caller(),
            pb::CreateWebhookRequest {
                url,
                description,
                event_types,
                talk_ids,
                naming,
                agent_id: agent_id.unwrap_or_default(),
                ordered,
                options: Some(options),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(webhook.into()))
}

/// `GET /v1.0/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    Admin(me): Admin,
) -> Result<Json<WebhookPage>, HttpError> {
    let page = state
        .clients
        .webhooks
        .clone()
        .list_webhooks(acting(me.caller(), pb::ListWebhooksRequest { page: None }))
        .await?
        .into_inner();
    Ok(Json(WebhookPage {
        result: page.webhooks.into_iter().map(Into::into).collect(),
        next_page_token: String::new(),
    }))
}

fn reference(id: WebhookRef) -> pb::GetWebhookRequest {
    pb::GetWebhookRequest {
        id: id.0.to_string(),
    }
}

fn write(id: WebhookRef, options: WriteOptions) -> pb::WebhookWrite {
    pb::WebhookWrite {
        id: id.0.to_string(),
        options: Some(options),
    }
}

/// `GET /v1.0/webhooks/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
) -> Result<Json<Webhook>, HttpError> {
    let webhook = state
        .clients
        .webhooks
        .clone()
        .get_webhook(acting(me.caller(), reference(id)))
        .await?
        .into_inner();
    Ok(Json(webhook.into()))
}

/// `PUT /v1.0/webhooks/{id}`: the whole definition (absent filters: none).
pub async fn update(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
    Write(options): Write,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<Json<Webhook>, HttpError> {
    let url = body.url()?;
    let WebhookBody {
        url: _,
        description,
        event_types,
        talk_ids,
        naming,
        enabled,
        agent_id,
        ordered,
    } = body;
    if agent_id.is_some() {
        return Err(ApiError::of(
            Reason::InvalidArgument,
            "agent_id is set when a webhook is created and cannot change; create another webhook.",
        )
        .into());
    }
    let webhook = state
        .clients
        .webhooks
        .clone()
        .update_webhook(acting(
            me.caller(),
            pb::UpdateWebhookRequest {
                id: id.0.to_string(),
                url,
                description,
                event_types,
                talk_ids,
                naming,
                enabled: enabled.unwrap_or(true),
                ordered,
                options: Some(options),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(webhook.into()))
}

/// `DELETE /v1.0/webhooks/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
    Write(options): Write,
) -> Result<Json<Webhook>, HttpError> {
    let webhook = state
        .clients
        .webhooks
        .clone()
        .delete_webhook(acting(me.caller(), write(id, options)))
        .await?
        .into_inner();
    Ok(Json(webhook.into()))
}

/// `POST /v1.0/webhooks/{id}/rotate`.
pub async fn rotate(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
    Write(options): Write,
) -> Result<Json<Webhook>, HttpError> {
    let webhook = state
        .clients
        .webhooks
        .clone()
        .rotate_webhook_secret(acting(me.caller(), write(id, options)))
        .await?
        .into_inner();
    Ok(Json(webhook.into()))
}

/// `GET /v1.0/webhooks/{id}/deliveries`.
pub async fn deliveries(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
    Query(query): Query<LogQuery>,
) -> Result<Json<WebhookDeliveryPage>, HttpError> {
    let page_size = match query.page_size.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(raw) => raw.parse::<u32>().map_err(|_| {
            ApiError::of(
                Reason::InvalidRequestParameter,
                "The parameter \"page_size\" has an invalid format.",
            )
        })?,
    };
    let page = state
        .clients
        .webhooks
        .clone()
        .list_webhook_deliveries(acting(
            me.caller(),
            pb::ListWebhookDeliveriesRequest {
                webhook_id: id.0.to_string(),
                page_size,
                page_token: query.page_token.unwrap_or_default(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(WebhookDeliveryPage {
        result: page.deliveries.into_iter().map(Into::into).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `POST /v1.0/webhooks/{id}/replay`.
pub async fn replay(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
    Write(options): Write,
    JsonBody(body): JsonBody<ReplayBody>,
) -> Result<Json<ReplayReply>, HttpError> {
    let ReplayBody { after, since } = body;
    let since_micros = match since.as_deref() {
        None | Some("") => 0,
        Some(raw) => time::parse(raw)
            .map(|t| time::to_micros(&t))
            .ok_or_else(|| {
                ApiError::of(
                    Reason::InvalidArgument,
                    "since must be a time like 2026-01-15T09:30:00Z.",
                )
            })?,
    };
    let replayed = state
        .clients
        .webhooks
        .clone()
        .replay_webhook(acting(
            me.caller(),
            pb::ReplayWebhookRequest {
                webhook_id: id.0.to_string(),
                after_seq: after.unwrap_or(0),
                since_micros,
                options: Some(options),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(ReplayReply {
        queued: replayed.queued,
    }))
}

/// `POST /v1.0/webhooks/{id}/test`.
pub async fn test(
    State(state): State<AppState>,
    Admin(me): Admin,
    Id(id): Id<WebhookRef>,
    Write(options): Write,
) -> Result<Json<WebhookDelivery>, HttpError> {
    let delivery = state
        .clients
        .webhooks
        .clone()
        .test_webhook(acting(me.caller(), write(id, options)))
        .await?
        .into_inner();
    Ok(Json(delivery.into()))
}
