//! Access keys as the edge and the gateway see them: which credential a
//! request presents ([`credential`], VoIPBIN's lookup order), and the agent
//! a key acts as, asked of agent-service on every request — no cache, so a
//! deleted key is refused on the very next request on every edge and
//! gateway. (A request with a key costs one lookup by primary key of its
//! hash; tokens stay verified locally.)

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use talk_proto::access_key_service_client::AccessKeyServiceClient;
use talk_proto::{AccessKeyStatesRequest, VerifyAccessKeyRequest};
use talk_runtime::Channel;
use talk_types::{ApiError, time};
use uuid::Uuid;

use crate::{AgentClaim, Identity};

/// What every access key's token starts with; a `Bearer` credential with it
/// is a key, any other a token.
pub const ACCESS_KEY_PREFIX: &str = "vb_";

/// An access key's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessKeyId(pub Uuid);

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for AccessKeyId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A credential a request carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// An agent token (JWT).
    Token(String),
    /// An access key's token.
    AccessKey(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token(_) => "Token(..)",
            Self::AccessKey(_) => "AccessKey(..)",
        })
    }
}

impl Credential {
    /// A token as presented where either kind may come (`Authorization:
    /// Bearer`, a WebSocket's `auth` frame): a key when it looks like one.
    pub fn bearer(value: &str) -> Self {
        if value.starts_with(ACCESS_KEY_PREFIX) {
            Self::AccessKey(value.to_owned())
        } else {
            Self::Token(value.to_owned())
        }
    }
}

/// The places a request may carry a credential, as the server read them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Presented<'a> {
    /// Cookie `token`.
    pub token_cookie: Option<&'a str>,
    /// Query `?token=`.
    pub token_query: Option<&'a str>,
    /// Header `Authorization`.
    pub authorization: Option<&'a str>,
    /// Cookie `accesskey`.
    pub accesskey_cookie: Option<&'a str>,
    /// Query `?accesskey=`.
    pub accesskey_query: Option<&'a str>,
}

/// The credential of a request in VoIPBIN's order: cookie `token`,
/// `?token=`, `Authorization: Bearer` (a token, or a key: `vb_…`), cookie
/// `accesskey`, `?accesskey=`. Empty values are absent.
pub fn credential(presented: Presented<'_>) -> Option<Credential> {
    let given = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(token) = given(presented.token_cookie).or_else(|| given(presented.token_query)) {
        return Some(Credential::Token(token));
    }
    let bearer = presented.authorization.and_then(|header| {
        let (scheme, value) = header.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| given(Some(value)))
            .flatten()
    });
    if let Some(value) = bearer {
        return Some(Credential::bearer(&value));
    }
    given(presented.accesskey_cookie)
        .or_else(|| given(presented.accesskey_query))
        .map(Credential::AccessKey)
}

/// Asks agent-service about access keys.
#[derive(Clone)]
pub struct AccessKeys {
    client: AccessKeyServiceClient<Channel>,
}

impl fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeys").finish_non_exhaustive()
    }
}

impl AccessKeys {
    /// Asks agent-service through `client`.
    pub fn new(client: AccessKeyServiceClient<Channel>) -> Self {
        Self { client }
    }

    /// The identity of the agent `token` acts as, as it now stands (its
    /// current permission); `401 INVALID_CREDENTIALS` for an unknown,
    /// deleted or expired key or one of a deleted agent.
    pub async fn verify(&self, token: &str) -> Result<Identity, ApiError> {
        if !token.starts_with(ACCESS_KEY_PREFIX) {
            return Err(ApiError::invalid_credentials());
        }
        let verified = self
            .client
            .clone()
            .verify_access_key(VerifyAccessKeyRequest {
                token: token.to_owned(),
            })
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner();
        let broken = || {
            tracing::warn!("agent-service answered an access key without its agent");
            ApiError::internal()
        };
        let agent = verified.agent.ok_or_else(broken)?;
        let key = verified.access_key_id.parse().map_err(|_| broken())?;
        Ok(Identity {
            agent: AgentClaim {
                id: agent.id.parse().map_err(|_| broken())?,
                customer_id: agent.customer_id.parse().map_err(|_| broken())?,
                username: agent.username,
                name: agent.name,
                permission: agent.permission,
            },
            version: verified.token_version,
            expires: time::from_micros(verified.tm_expire)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
            key: Some(key),
        })
    }

    /// Whether each of `ids` still works (one call).
    pub async fn states(
        &self,
        ids: &[AccessKeyId],
    ) -> Result<HashMap<AccessKeyId, bool>, ApiError> {
        let answer = self
            .client
            .clone()
            .access_key_states(AccessKeyStatesRequest {
                access_key_ids: ids.iter().map(ToString::to_string).collect(),
            })
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner();
        Ok(answer
            .states
            .into_iter()
            .filter_map(|state| Some((state.access_key_id.parse().ok()?, state.active)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voipbins_lookup_order() {
        let all = Presented {
            token_cookie: Some("c"),
            token_query: Some("q"),
            authorization: Some("Bearer b"),
            accesskey_cookie: Some("vb_c"),
            accesskey_query: Some("vb_q"),
        };
        assert_eq!(credential(all), Some(Credential::Token("c".into())));
        let later = Presented {
            token_cookie: Some(""),
            ..all
        };
        assert_eq!(credential(later), Some(Credential::Token("q".into())));
        let later = Presented {
            token_query: None,
            ..later
        };
        assert_eq!(credential(later), Some(Credential::Token("b".into())));
        let key_bearer = Presented {
            authorization: Some("bearer vb_key"),
            ..later
        };
        assert_eq!(
            credential(key_bearer),
            Some(Credential::AccessKey("vb_key".into()))
        );
        let no_bearer = Presented {
            authorization: Some("Basic abc"),
            ..later
        };
        assert_eq!(
            credential(no_bearer),
            Some(Credential::AccessKey("vb_c".into()))
        );
        let query_only = Presented {
            accesskey_query: Some("vb_q"),
            ..Presented::default()
        };
        assert_eq!(
            credential(query_only),
            Some(Credential::AccessKey("vb_q".into()))
        );
        assert_eq!(credential(Presented::default()), None);
    }
}
