//! Access keys, VoIPBIN's `/v1.0/accesskeys`: `POST` and `GET` (a page),
//! `GET`, `PUT` and `DELETE /v1.0/accesskeys/{id}`. A key acts as its agent
//! (Talk's `agent_id`: the caller by default; admins may name any agent of
//! their customer). The token is in the create's answer only; only its hash
//! is kept. Admins see and manage every key of their customer, an agent its
//! own; another's is `404 ACCESSKEY_NOT_FOUND`.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde::{Deserialize, Serialize};
use talk_auth::AccessKeyId;
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{AgentId, ApiError, Reason, time};
use talk_wire::Page;
use utoipa::ToSchema;

use super::{Registry, doc};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Auth, Id, JsonBody, Pagination, Write};

const PATH: &str = "/v1.0/accesskeys";
const ONE: &str = "/v1.0/accesskeys/{id}";

/// Registers the access key routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "accesskeys";
    registry
        .add(
            Method::POST,
            PATH,
            create,
            doc(
                tag,
                "Create an access key (for yourself; admins for any agent of the customer); the answer is the only one with the token",
            )
            .body::<CreateAccessKeyBody>()
            .ok::<AccessKey>(200),
        )
        .add(
            Method::GET,
            PATH,
            list,
            doc(tag, "List access keys (admins: the customer's; others: their own)")
                .paged()
                .ok::<AccessKeyPage>(200),
        )
        .add(
            Method::GET,
            ONE,
            get,
            doc(tag, "Get an access key").ok::<AccessKey>(200),
        )
        .add(
            Method::PUT,
            ONE,
            update,
            doc(tag, "Change an access key's name and/or detail")
                .body::<UpdateAccessKeyBody>()
                .ok::<AccessKey>(200),
        )
        .add(
            Method::DELETE,
            ONE,
            delete,
            doc(tag, "Delete an access key: it stops working at once").ok::<AccessKey>(200),
        )
}

/// An access key in VoIPBIN's shape, plus `agent_id`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AccessKey {
    /// Key id.
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// The agent the key acts as (Talk's addition).
    pub agent_id: String,
    /// Name.
    pub name: String,
    /// Detail.
    pub detail: String,
    /// The whole token: in the create's answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The token's first 11 characters, to tell keys apart.
    pub token_prefix: String,
    /// When it stops working; `null`: never.
    pub tm_expire: Option<String>,
    /// When it was created.
    pub tm_create: String,
    /// When its name or detail last changed.
    pub tm_update: String,
    /// When it was deleted; `null` while it works.
    pub tm_delete: Option<String>,
}

impl From<pb::AccessKey> for AccessKey {
    fn from(key: pb::AccessKey) -> Self {
        let pb::AccessKey {
            id,
            customer_id,
            agent_id,
            name,
            detail,
            token,
            token_prefix,
            tm_expire,
            tm_create,
            tm_update,
            tm_delete,
        } = key;
        let at = |micros| time::from_micros(micros).map(|t| time::format(&t));
        Self {
            id,
            customer_id,
            agent_id,
            name,
            detail,
            token: (!token.is_empty()).then_some(token),
            token_prefix,
            tm_expire: at(tm_expire),
            tm_create: at(tm_create).unwrap_or_default(),
            tm_update: at(tm_update).unwrap_or_default(),
            tm_delete: at(tm_delete),
        }
    }
}

/// A page of access keys, newest first (the spec's shape of `Page<AccessKey>`).
#[derive(ToSchema)]
pub struct AccessKeyPage {
    /// The keys.
    pub result: Vec<AccessKey>,
    /// `tm_create` of the last key ("" for an empty page).
    pub next_page_token: String,
}

/// `POST /v1.0/accesskeys`: VoIPBIN's `{name, detail, expire}` plus Talk's
/// `agent_id` and `tm_expire`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateAccessKeyBody {
    /// Name (at most 255 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Detail (at most 4,096 characters).
    #[serde(default)]
    pub detail: Option<String>,
    /// VoIPBIN's expiry: seconds from now (1 to 100 years' worth).
    #[serde(default)]
    pub expire: Option<i64>,
    /// An RFC 3339 expiry instead of `expire` (not both). Neither: never expires.
    #[serde(default)]
    pub tm_expire: Option<String>,
    /// The agent the key acts as; default the caller. Admins only for another.
    #[serde(default)]
    pub agent_id: Option<String>,
}

/// `PUT /v1.0/accesskeys/{id}`: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateAccessKeyBody {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Detail.
    #[serde(default)]
    pub detail: Option<String>,
}

/// `POST /v1.0/accesskeys`.
pub async fn create(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    JsonBody(body): JsonBody<CreateAccessKeyBody>,
) -> Result<Json<AccessKey>, HttpError> {
    let CreateAccessKeyBody {
        name,
        detail,
        expire,
        tm_expire,
        agent_id,
    } = body;
    let tm_expire = match tm_expire {
        None => None,
        Some(raw) => Some(time::to_micros(&time::parse(&raw).ok_or_else(|| {
            ApiError::of(
                Reason::InvalidExpire,
                "The tm_expire must be an RFC 3339 timestamp, e.g. 2030-01-01T00:00:00.000000Z.",
            )
        })?)),
    };
    let agent_id = match agent_id.filter(|id| !id.is_empty()) {
        None => String::new(),
        Some(id) => AgentId::parse("agent_id", &id)?.to_string(),
    };
    let key = state
        .clients
        .access_keys
        .clone()
        .create_access_key(acting(
            me.caller(),
            pb::CreateAccessKeyRequest {
                options: Some(options),
                agent_id,
                name: name.unwrap_or_default(),
                detail: detail.unwrap_or_default(),
                expire_secs: expire,
                tm_expire,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(key.into()))
}

/// `GET /v1.0/accesskeys`.
pub async fn list(
    State(state): State<AppState>,
    Auth(me): Auth,
    Pagination(page): Pagination,
) -> Result<Json<Page<AccessKey>>, HttpError> {
    let page = state
        .clients
        .access_keys
        .clone()
        .list_access_keys(acting(
            me.caller(),
            pb::ListAccessKeysRequest { page: Some(page) },
        ))
        .await?
        .into_inner();
    Ok(Json(Page {
        result: page.access_keys.into_iter().map(AccessKey::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `GET /v1.0/accesskeys/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
    Id(id): Id<AccessKeyId>,
) -> Result<Json<AccessKey>, HttpError> {
    let key = state
        .clients
        .access_keys
        .clone()
        .get_access_key(acting(
            me.caller(),
            pb::AccessKeyRef {
                access_key_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(key.into()))
}

/// `PUT /v1.0/accesskeys/{id}`: name and/or detail (at least one).
pub async fn update(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<AccessKeyId>,
    JsonBody(body): JsonBody<UpdateAccessKeyBody>,
) -> Result<Json<AccessKey>, HttpError> {
    let UpdateAccessKeyBody { name, detail } = body;
    if name.is_none() && detail.is_none() {
        return Err(ApiError::of(
            Reason::MissingField,
            "The body needs \"name\" and/or \"detail\".",
        )
        .into());
    }
    let key = state
        .clients
        .access_keys
        .clone()
        .update_access_key(acting(
            me.caller(),
            pb::UpdateAccessKeyRequest {
                options: Some(options),
                access_key_id: id.to_string(),
                name,
                detail,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(key.into()))
}

/// `DELETE /v1.0/accesskeys/{id}`: answers the key as deleted.
pub async fn delete(
    State(state): State<AppState>,
    Auth(me): Auth,
    Write(options): Write,
    Id(id): Id<AccessKeyId>,
) -> Result<Json<AccessKey>, HttpError> {
    let key = state
        .clients
        .access_keys
        .clone()
        .delete_access_key(acting(
            me.caller(),
            pb::AccessKeyWrite {
                options: Some(options),
                access_key_id: id.to_string(),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(key.into()))
}
