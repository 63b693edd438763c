//! The caller's customer's talk settings, `GET/PUT /v1.0/talk_settings`
//! (Talk's extension: VoIPBIN has no settings of talks). One setting so far:
//! `archive_inactive_days`, after how many days without activity a group or
//! public talk is closed (`null`: never, the default). Everyone of the
//! customer reads them; admins change them.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde::{Deserialize, Deserializer, Serialize};
use talk_proto as pb;
use talk_runtime::grpc::acting;
use talk_types::{ApiError, Reason, time};
use utoipa::ToSchema;

use super::{Registry, doc};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Admin, Auth, JsonBody, Write};

const PATH: &str = "/v1.0/talk_settings";

/// Registers the settings routes.
pub fn register(registry: Registry) -> Registry {
    let tag = "settings";
    registry
        .add(
            Method::GET,
            PATH,
            get,
            doc(tag, "The customer's talk settings").ok::<TalkSettings>(200),
        )
        .add(
            Method::PUT,
            PATH,
            update,
            doc(tag, "Change the customer's talk settings (admins)")
                .body::<TalkSettingsBody>()
                .ok::<TalkSettings>(200),
        )
}

/// A customer's talk settings.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TalkSettings {
    /// The customer.
    pub customer_id: String,
    /// Days without activity (no message, no reopen) after which a group or
    /// public talk is closed; direct talks never are. `null`: never.
    pub archive_inactive_days: Option<u32>,
    /// When they were last changed; `null` when never.
    pub tm_update: Option<String>,
}

impl From<pb::TalkSettings> for TalkSettings {
    fn from(value: pb::TalkSettings) -> Self {
        let pb::TalkSettings {
            customer_id,
            archive_inactive_days,
            tm_update,
        } = value;
        Self {
            customer_id,
            archive_inactive_days,
            tm_update: time::from_micros(tm_update).map(|t| time::format(&t)),
        }
    }
}

/// `PUT /v1.0/talk_settings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TalkSettingsBody {
    /// 1 to 3650 days, or `null` to never archive. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub archive_inactive_days: Option<Option<i64>>,
}

/// A field that is there, `null` or not: `Some(value)` (absent stays `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// `GET /v1.0/talk_settings`.
pub async fn get(
    State(state): State<AppState>,
    Auth(me): Auth,
) -> Result<Json<TalkSettings>, HttpError> {
    let settings = state
        .clients
        .archive
        .clone()
        .get_talk_settings(acting(me.caller(), pb::GetTalkSettingsRequest {}))
        .await?
        .into_inner();
    Ok(Json(settings.into()))
}

/// `PUT /v1.0/talk_settings` (admins). The answer is the settings as they
/// now stand; setting the same value again answers the same.
pub async fn update(
    State(state): State<AppState>,
    Admin(me): Admin,
    Write(_): Write,
    JsonBody(body): JsonBody<TalkSettingsBody>,
) -> Result<Json<TalkSettings>, HttpError> {
    let Some(archive_inactive_days) = body.archive_inactive_days else {
        return Err(ApiError::of(
            Reason::MissingField,
            "The body needs \"archive_inactive_days\": a number of days, or null to never archive.",
        )
        .into());
    };
    let settings = state
        .clients
        .archive
        .clone()
        .update_talk_settings(acting(
            me.caller(),
            pb::UpdateTalkSettingsRequest {
                archive_inactive_days,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(settings.into()))
}
