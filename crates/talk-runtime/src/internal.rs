//! Internal calls prove who is calling (issue 15). Every gRPC call between
//! Talk's processes carries `authorization: Bearer <jwt>`: a short-lived
//! token (5 minutes, re-minted every minute) naming the calling process and,
//! when the call is made for an agent, that agent (`act`: agent, customer,
//! permission), signed HS256 with the deployment's `TALK_JWT_SECRET` for the
//! audience `talk-internal` — which no agent token has, so an agent token is
//! never taken for a service. Each service's gRPC router is wrapped by
//! [`Internal::guard`]: a call without a valid token is `UNAUTHENTICATED`
//! and reaches no handler; a valid one becomes the request's [`Verified`]
//! extension, the only place a handler learns its caller from
//! ([`crate::grpc::handle_as`], [`crate::grpc::handle_service`]). A pod
//! without the secret can call nothing and act for no one.
//!
//! Clients attach the token themselves: [`crate::channel`] gives a channel
//! whose every request carries it ([`Attach`]); a request made with
//! [`crate::grpc::acting`] gets a token that acts for its agent. The edge and
//! the push-gateway act for the agent whose token (or key) they verified;
//! a service acts for the agent its own call was made for.
//!
//! The same credentials carry the process's mutual TLS files when it has
//! them ([`crate::tls`]): a guarded API then accepts only connections with a
//! certificate signed by the deployment's CA, and the channels present this
//! process's. TLS proves the pod; the token proves the process and the agent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use talk_config::{Config, ExposeSecret};
use tonic::metadata::{Ascii, MetadataValue};

use crate::{Api, Health, MutualTls};

/// The audience of internal tokens.
const AUDIENCE: &str = "talk-internal";
/// How long an internal token lives.
const LIFETIME: Duration = Duration::from_secs(300);
/// How long a minted token is reused.
const REUSE: Duration = Duration::from_secs(60);

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    aud: String,
    exp: u64,
    /// The agent the call is made for; none for a service's own call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    act: Option<Act>,
}

/// An agent a call acts for, as the token states it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Act {
    agent: String,
    customer: String,
    permission: u32,
}

impl From<&talk_proto::Caller> for Act {
    fn from(caller: &talk_proto::Caller) -> Self {
        Self {
            agent: caller.agent_id.clone(),
            customer: caller.customer_id.clone(),
            permission: caller.permission,
        }
    }
}

impl From<Act> for talk_proto::Caller {
    fn from(act: Act) -> Self {
        Self {
            agent_id: act.agent,
            customer_id: act.customer,
            permission: act.permission,
        }
    }
}

/// What the guard verified about a call: the request extension handlers read.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The calling process (`edge`, `talk-service`, …).
    pub process: String,
    /// The agent the call is made for; none for a service's own call.
    pub acting: Option<talk_proto::Caller>,
}

/// A client request's extension naming the agent it is made for; the
/// channel's interceptor turns it into the token's `act`.
#[derive(Clone, Debug)]
pub struct Acting(pub talk_proto::Caller);

/// One process's internal credentials: it mints tokens for its calls and
/// verifies those of calls it serves, and holds its mutual TLS files.
#[derive(Clone)]
pub struct Internal {
    name: Arc<str>,
    /// This process's certificate, key and CA; none: plaintext.
    tls: Option<MutualTls>,
    /// Where the health routes of a guarded API go.
    health: Health,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Tokens minted, by the agent they act for (none: the process's own).
    minted: Arc<Mutex<HashMap<Option<Act>, Minted>>>,
    /// Tokens verified already: what each states and when it expires.
    verified: Arc<Mutex<HashMap<String, (Verified, u64)>>>,
}

/// Most tokens remembered, minted or verified (callers re-mint every minute;
/// the edge mints one per agent it acts for).
const MAX_REMEMBERED: usize = 16_384;

fn unix_now() -> Option<u64> {
    Some(SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs())
}

/// A token minted at an instant, as its `authorization` value.
type Minted = (Instant, MetadataValue<Ascii>);

impl std::fmt::Debug for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Internal")
            .field("name", &self.name)
            .field("tls", &self.tls)
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

impl Internal {
    /// Credentials of the process `name` with the shared `secret`: no TLS,
    /// the health routes of a guarded API beside it.
    pub fn new(name: &str, secret: &[u8]) -> Self {
        Self {
            name: name.into(),
            tls: None,
            health: Health::Shared,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            minted: Arc::default(),
            verified: Arc::default(),
        }
    }

    /// Credentials of the process `name` with the configured
    /// `TALK_JWT_SECRET`, `TALK_GRPC_TLS_*` and `TALK_OPS_ADDR`.
    pub fn from_config(name: &str, config: &Config) -> Self {
        Self {
            tls: MutualTls::from_config(config),
            health: Health::from_config(config),
            ..Self::new(name, config.jwt_secret.expose_secret().as_bytes())
        }
    }

    /// The same credentials with mutual TLS from `tls`.
    pub fn with_tls(self, tls: MutualTls) -> Self {
        Self {
            tls: Some(tls),
            ..self
        }
    }

    /// The same credentials with the health routes of a guarded API at `health`.
    pub fn with_health(self, health: Health) -> Self {
        Self { health, ..self }
    }

    /// The mutual TLS files, if this process has them.
    pub fn tls(&self) -> Option<&MutualTls> {
        self.tls.as_ref()
    }

    /// The `authorization` value for a call made for `acting` (none: the
    /// process's own call), reused for a minute.
    fn credential(&self, acting: Option<&talk_proto::Caller>) -> Option<MetadataValue<Ascii>> {
        let act = acting.map(Act::from);
        let mut minted = self.minted.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, value)) = minted.get(&act)
            && at.elapsed() < REUSE
        {
            return Some(value.clone());
        }
        let exp = unix_now()?.saturating_add(LIFETIME.as_secs());
        let claims = Claims {
            sub: self.name.to_string(),
            aud: AUDIENCE.into(),
            exp,
            act: act.clone(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()?;
        let value = MetadataValue::try_from(format!("Bearer {token}")).ok()?;
        if minted.len() >= MAX_REMEMBERED {
            minted.retain(|_, (at, _)| at.elapsed() < REUSE);
            if minted.len() >= MAX_REMEMBERED {
                minted.clear();
            }
        }
        minted.insert(act, (Instant::now(), value.clone()));
        Some(value)
    }

    /// What a `Bearer` value states, if it is a valid internal token.
    /// A caller presents the same token for a minute: one it presented
    /// before is known by its bytes until it expires, without checking its
    /// signature again.
    fn verify(&self, authorization: &str) -> Option<Verified> {
        let token = authorization.strip_prefix("Bearer ")?;
        let now = unix_now()?;
        {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((found, exp)) = verified.get(token)
                && *exp > now
            {
                return Some(found.clone());
            }
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        let found = Verified {
            process: claims.sub,
            acting: claims.act.map(Into::into),
        };
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= MAX_REMEMBERED {
            verified.retain(|_, (_, exp)| *exp > now);
            if verified.len() >= MAX_REMEMBERED {
                verified.clear();
            }
        }
        verified.insert(token.to_owned(), (found.clone(), claims.exp));
        Some(found)
    }

    /// `router` (a service's gRPC routes) as an internal API: every call
    /// without a valid internal token is answered `UNAUTHENTICATED`, every
    /// connection without a certificate signed by the CA refused when this
    /// process has mutual TLS, and the health routes go where
    /// `TALK_OPS_ADDR` says.
    pub fn guard(&self, router: Router) -> Api {
        Api::internal(
            router.layer(axum::middleware::from_fn_with_state(self.clone(), guard)),
            self.tls.clone(),
            self.health,
        )
    }

    /// The interceptor that attaches this process's token to every call.
    pub fn attach(&self) -> Attach {
        Attach(self.clone())
    }
}

async fn guard(State(internal): State<Internal>, mut request: Request, next: Next) -> Response {
    let verified = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| internal.verify(v));
    match verified {
        Some(verified) => {
            request.extensions_mut().insert(verified);
            next.run(request).await
        }
        None => tonic::Status::unauthenticated(
            "internal calls need a valid internal token (talk_runtime::internal)",
        )
        .into_http(),
    }
}

/// Attaches the process's internal token to every request of a client.
#[derive(Clone, Debug)]
pub struct Attach(Internal);

impl tonic::service::Interceptor for Attach {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let acting = request.extensions().get::<Acting>().map(|a| &a.0);
        let value = self
            .0
            .credential(acting)
            .ok_or_else(|| tonic::Status::internal("cannot mint an internal token"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_with_the_same_secret_only_and_agent_tokens_never() {
        let ours = Internal::new("edge", b"0123456789abcdef0123456789abcdef");
        let value = ours.credential(None).unwrap();
        for _ in 0..2 {
            // The second time from what it remembers.
            let verified = ours.verify(value.to_str().unwrap()).unwrap();
            assert_eq!(verified.process, "edge");
            assert!(verified.acting.is_none());
        }
        let agent = talk_proto::Caller {
            agent_id: "a".into(),
            customer_id: "c".into(),
            permission: 16,
        };
        let acting = ours.credential(Some(&agent)).unwrap();
        assert_ne!(acting, value);
        let verified = ours.verify(acting.to_str().unwrap()).unwrap();
        assert_eq!(verified.acting, Some(agent));
        let other = Internal::new("edge", b"another-secret-0123456789abcdef!");
        assert!(other.verify(value.to_str().unwrap()).is_none());
        assert!(ours.verify("Bearer garbage").is_none());
        // An agent token signed with the same secret has another audience.
        let agent = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"type": "agent", "aud": "talk", "exp": u64::MAX / 2}),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(ours.verify(&format!("Bearer {agent}")).is_none());
    }
}
