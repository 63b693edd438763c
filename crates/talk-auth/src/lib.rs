//! Agent tokens, compatible with VoIPBIN: HS256, claims
//! `{"type": "agent", "agent": {...}, "expire": "<ts>"}` plus the standard
//! `exp`, `iss` and `aud` (`talk`) and Talk's `ver`: the agent's token
//! version when it was issued. agent-service moves an agent's version on
//! logout, a password or permission change and a delete; the edge and the
//! gateway refuse a token whose version is behind ([`Identity::version`]).
//!
//! Access keys ([`AccessKeys`]) are the other credential: agent-service
//! checks them on every request; [`credential`] reads either from a request.

mod access_keys;
mod revocations;

pub use access_keys::{
    ACCESS_KEY_PREFIX, AccessKeyId, AccessKeys, Credential, Presented, credential,
};
pub use revocations::{FRESH_FOR, Revocations, judge};

use chrono::Duration;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use talk_types::{AgentId, ApiError, CustomerId, time};

/// Permission bit of a project super admin.
pub const PERMISSION_SUPER_ADMIN: u32 = 1;
/// Permission bit of a customer agent.
pub const PERMISSION_AGENT: u32 = 16;
/// Permission bit of a customer admin.
pub const PERMISSION_ADMIN: u32 = 32;
/// Permission bit of a customer manager.
pub const PERMISSION_MANAGER: u32 = 64;

/// The agent object inside a token (VoIPBIN's `agent` claim, password hash excluded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentClaim {
    /// Agent id.
    pub id: AgentId,
    /// Customer id.
    pub customer_id: CustomerId,
    /// Login name.
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Permission bitmask.
    #[serde(default)]
    pub permission: u32,
}

/// Who issues Talk's tokens, and for whom (`iss` and `aud`).
pub const ISSUER: &str = "talk";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    agent: AgentClaim,
    expire: String,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(default)]
    ver: u64,
}

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The agent as the token describes it.
    pub agent: AgentClaim,
    /// The agent's token version when the token was issued: the token is
    /// revoked once agent-service's is higher.
    pub version: u64,
    /// When the token (or access key) expires.
    pub expires: time::Timestamp,
    /// The access key the caller presented; `None` for a token. A key acts
    /// as its agent, with the agent's permission as it stood when the key
    /// was checked.
    pub key: Option<AccessKeyId>,
}

impl Identity {
    /// The caller of internal gRPC calls.
    pub fn caller(&self) -> talk_proto::Caller {
        talk_proto::Caller {
            agent_id: self.agent.id.to_string(),
            customer_id: self.agent.customer_id.to_string(),
            permission: self.agent.permission,
        }
    }

    /// Customer admins, managers and super admins.
    pub fn is_admin(&self) -> bool {
        self.agent.permission & (PERMISSION_SUPER_ADMIN | PERMISSION_ADMIN | PERMISSION_MANAGER)
            != 0
    }
}

/// The agent an internal call is made for, as the services read it from the
/// call: one type and one parser for every service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The calling agent.
    pub agent_id: AgentId,
    /// The caller's customer: the only one it sees.
    pub customer_id: CustomerId,
    /// The caller's VoIPBIN permission bits.
    pub permission: u32,
}

impl TryFrom<talk_proto::Caller> for Caller {
    type Error = ApiError;

    /// The agent a verified internal token acts for
    /// ([`talk_runtime::grpc::handle_as`]).
    fn try_from(wire: talk_proto::Caller) -> Result<Self, ApiError> {
        Self::from_wire(&wire)
    }
}

impl Caller {
    /// The caller as the wire names it; malformed ids are unauthenticated.
    pub fn from_wire(wire: &talk_proto::Caller) -> Result<Self, ApiError> {
        let agent_id = wire
            .agent_id
            .parse()
            .map_err(|_| ApiError::unauthenticated())?;
        let customer_id = wire
            .customer_id
            .parse()
            .map_err(|_| ApiError::unauthenticated())?;
        Ok(Self {
            agent_id,
            customer_id,
            permission: wire.permission,
        })
    }

    /// The caller as the wire carries it (for a call on its behalf:
    /// [`talk_runtime::grpc::acting`]).
    pub fn to_wire(&self) -> talk_proto::Caller {
        talk_proto::Caller {
            agent_id: self.agent_id.to_string(),
            customer_id: self.customer_id.to_string(),
            permission: self.permission,
        }
    }

    /// Customer admins, managers and super admins.
    pub fn is_admin(&self) -> bool {
        self.permission & (PERMISSION_SUPER_ADMIN | PERMISSION_ADMIN | PERMISSION_MANAGER) != 0
    }

    /// Super admins.
    pub fn is_super_admin(&self) -> bool {
        self.permission & PERMISSION_SUPER_ADMIN != 0
    }
}

/// Issues and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl_secs`.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl: Duration::seconds(i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2_000)),
        }
    }

    /// How long a token lives, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        u64::try_from(self.ttl.num_seconds()).unwrap_or(0)
    }

    /// A token for `agent` at token version 0.
    pub fn issue(&self, agent: AgentClaim) -> Result<String, ApiError> {
        self.issue_at(agent, 0)
    }

    /// A token for `agent` at its token `version`.
    pub fn issue_at(&self, agent: AgentClaim, version: u64) -> Result<String, ApiError> {
        let expires = time::now() + self.ttl;
        let claims = Claims {
            kind: Some("agent".into()),
            agent,
            expire: time::format(&expires),
            exp: Some(expires.timestamp()),
            iss: Some(ISSUER.into()),
            aud: Some(ISSUER.into()),
            ver: version,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| ApiError::internal())
    }

    /// Verifies a token: signature, `type` (agent or absent), `exp` and
    /// `expire`, and `iss` / `aud` where present (VoIPBIN's tokens have none).
    pub fn verify(&self, token: &str) -> Result<Identity, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Checked when present (VoIPBIN's tokens carry neither).
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::invalid_credentials())?;
        let claims = data.claims;
        if claims.kind.as_deref().is_some_and(|k| k != "agent") {
            return Err(ApiError::invalid_credentials());
        }
        let expire = time::parse(&claims.expire).ok_or_else(ApiError::invalid_credentials)?;
        if expire <= time::now() || claims.exp.is_some_and(|e| e <= time::now().timestamp()) {
            return Err(ApiError::invalid_credentials());
        }
        Ok(Identity {
            agent: claims.agent,
            version: claims.ver,
            expires: expire,
            key: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> AgentClaim {
        AgentClaim {
            id: AgentId::new(),
            customer_id: CustomerId::new(),
            username: "alice".into(),
            name: "Alice".into(),
            permission: PERMISSION_AGENT,
        }
    }

    #[test]
    fn issued_tokens_verify_and_others_do_not() {
        let tokens = Tokens::new(b"0123456789abcdef0123", 60);
        let token = tokens.issue(agent()).unwrap();
        assert_eq!(tokens.verify(&token).unwrap().agent.username, "alice");
        let other = Tokens::new(b"another-secret-of-length", 60);
        assert_eq!(
            other.verify(&token).unwrap_err().reason,
            "INVALID_CREDENTIALS"
        );
        assert!(tokens.verify("not-a-token").is_err());
    }

    #[test]
    fn tokens_of_another_issuer_or_audience_are_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let tokens = Tokens::new(secret, 60);
        let token = tokens.issue_at(agent(), 7).unwrap();
        assert_eq!(tokens.verify(&token).unwrap().version, 7);
        let expires = time::now() + Duration::seconds(60);
        for (iss, aud) in [("other", ISSUER), (ISSUER, "other")] {
            let claims = Claims {
                kind: Some("agent".into()),
                agent: agent(),
                expire: time::format(&expires),
                exp: Some(expires.timestamp()),
                iss: Some(iss.into()),
                aud: Some(aud.into()),
                ver: 0,
            };
            let key = EncodingKey::from_secret(secret);
            let foreign =
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
            assert!(tokens.verify(&foreign).is_err(), "{iss} / {aud}");
        }
    }

    #[test]
    fn expired_tokens_are_refused() {
        let tokens = Tokens::new(b"0123456789abcdef0123", 0);
        let token = tokens.issue(agent()).unwrap();
        assert!(tokens.verify(&token).is_err());
    }
}
