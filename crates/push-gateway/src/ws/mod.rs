//! The WebSocket endpoint: authentication before the upgrade, then one
//! connection task per socket.

mod connection;
mod socket;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{OriginalUri, Query, State, WebSocketUpgrade};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::Value;
use talk_auth::{AccessKeys, Credential, Identity, Presented, Revocations, Tokens};
use talk_events::Bus;
use talk_proto::message_service_client::MessageServiceClient;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_runtime::Channel;
use talk_types::{ApiError, Reason};
use tokio_util::sync::CancellationToken;

use crate::limits::MAX_FRAME_BYTES;
use crate::protocol::{self, Naming};
use crate::routing::Hub;

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) hub: Arc<Hub>,
    pub(crate) bus: Arc<dyn Bus>,
    /// Typing frames go out through it.
    pub(crate) signals: Arc<crate::signals::Signals>,
    /// Presence of the agents connected here, and the shared board.
    pub(crate) presence: Arc<crate::presence::Presence>,
    pub(crate) tokens: Tokens,
    pub(crate) revocations: Revocations,
    /// Checks access keys (asks agent-service every time).
    pub(crate) keys: AccessKeys,
    pub(crate) talks: TalkServiceClient<Channel>,
    pub(crate) messages: MessageServiceClient<Channel>,
    pub(crate) ping_every: Duration,
    pub(crate) pong_timeout: Duration,
    pub(crate) queue_len: usize,
    /// Frames a client may send per second (0: no limit).
    pub(crate) frames_per_sec: u32,
    /// Sockets one agent may hold on this gateway (0: no limit).
    pub(crate) max_connections_per_agent: usize,
    /// Origins a browser may connect from; empty: any.
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) shutdown: CancellationToken,
}

#[derive(Deserialize)]
pub(crate) struct WsQuery {
    token: Option<String>,
    accesskey: Option<String>,
    cursor: Option<String>,
    events: Option<String>,
}

/// The connection's parameters, settled before the upgrade.
pub(crate) struct Params {
    /// The caller, when the request carried a valid token or access key.
    pub(crate) identity: Option<Identity>,
    pub(crate) naming: Naming,
    pub(crate) cursor: Option<u64>,
}

/// The credential of the upgrade request: a token from cookie `token`,
/// `?token=` or `Authorization: Bearer`, or an access key from
/// `Authorization: Bearer`, cookie `accesskey` or `?accesskey=`, in VoIPBIN's
/// order ([`talk_auth::credential`]).
fn credential(query: &WsQuery, headers: &HeaderMap) -> Option<Credential> {
    let jar = CookieJar::from_headers(headers);
    talk_auth::credential(Presented {
        token_cookie: jar.get("token").map(|c| c.value()),
        token_query: query.token.as_deref(),
        authorization: headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
        accesskey_cookie: jar.get("accesskey").map(|c| c.value()),
        accesskey_query: query.accesskey.as_deref(),
    })
}

/// The caller `credential` names: a token verified here and checked for
/// revocation, or an access key checked with agent-service.
pub(crate) async fn identify(
    shared: &Shared,
    credential: Credential,
) -> Result<Identity, ApiError> {
    match credential {
        Credential::Token(token) => {
            let identity = shared.tokens.verify(&token)?;
            shared.revocations.check(&identity).await?;
            Ok(identity)
        }
        Credential::AccessKey(key) => shared.keys.verify(&key).await,
    }
}

fn reject(error: &ApiError, headers: &HeaderMap) -> Response {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let status =
        StatusCode::from_u16(error.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(talk_wire::ErrorResponse::new(error, &request_id)),
    )
        .into_response()
}

/// VoIPBIN's path: an unchanged VoIPBIN client hears VoIPBIN's event names.
const VOIPBIN_PATH: &str = "/v1.0/service_agents/ws";

async fn params(
    shared: &Shared,
    path: &str,
    query: &WsQuery,
    headers: &HeaderMap,
) -> Result<Params, ApiError> {
    let identity = match credential(query, headers) {
        Some(credential) => Some(identify(shared, credential).await?),
        None => None,
    };
    let naming = match query.events.as_deref() {
        None | Some("") if path == VOIPBIN_PATH => Naming::Voipbin,
        None | Some("" | "seed") => Naming::Seed,
        Some("voipbin") => Naming::Voipbin,
        Some(_) => {
            return Err(ApiError::of(
                Reason::InvalidRequestParameter,
                "The events parameter must be seed or voipbin.",
            ));
        }
    };
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(
            protocol::parse_cursor(&Value::from(cursor))
                .map_err(|r| ApiError::of(Reason::InvalidRequestParameter, r.message))?,
        ),
    };
    Ok(Params {
        identity,
        naming,
        cursor,
    })
}

/// `GET /v1.0/ws` (the seed's event names unless `?events=voipbin`) and
/// `GET /v1.0/service_agents/ws` (VoIPBIN's unless `?events=seed`).
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    query: Result<Query<WsQuery>, QueryRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(_) => {
            let error = ApiError::of(
                Reason::InvalidRequestParameter,
                "The query string could not be read.",
            );
            return reject(&error, &headers);
        }
    };
    if let Some(origin) = headers.get(header::ORIGIN)
        && !shared.allowed_origins.is_empty()
        && !shared
            .allowed_origins
            .iter()
            .any(|allowed| origin.as_bytes() == allowed.as_bytes())
    {
        // Another site's page cannot open a socket with a visitor's cookie.
        return reject(&Reason::OriginNotAllowed.into(), &headers);
    }
    let params = match params(&shared, uri.path(), &query, &headers).await {
        Ok(params) => params,
        Err(error) => return reject(&error, &headers),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    upgrade
        // tungstenite's default 128 KiB read buffer per socket dominates the
        // memory of idle connections; client frames are small.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        // Before and after authentication: a longer frame is refused from its
        // header, before its payload is read.
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| connection::serve(socket, shared, params))
}
