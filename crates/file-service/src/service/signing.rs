//! Signed download URLs: HMAC-SHA256 over the file, the agent it was signed
//! for (and its customer and permission) and the expiry, with a key derived
//! from `TALK_JWT_SECRET`. The URL is a bearer credential for a few minutes;
//! the download still checks the agent's access on every request.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use talk_auth::Caller;
use talk_types::time;

use crate::FileId;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks download URLs.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
    ttl_secs: u64,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

/// What a signed URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The file.
    pub file: FileId,
    /// The agent it was signed for.
    pub caller: Caller,
    /// Seconds since the epoch when it stops working.
    pub expires: i64,
    /// The thumbnail rather than the file.
    pub thumbnail: bool,
}

impl Signer {
    /// A signer whose key is derived from `secret`; URLs live `ttl_secs`.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"talk file download urls v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
            ttl_secs,
        }
    }

    fn mac(&self, signed: &Signed) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        let Signed {
            file,
            caller,
            expires,
            thumbnail,
        } = signed;
        mac.update(
            format!(
                "{file}|{}|{}|{}|{expires}|{}",
                caller.agent_id,
                caller.customer_id,
                caller.permission,
                u8::from(*thumbnail)
            )
            .as_bytes(),
        );
        mac
    }

    /// A URL (relative to the edge) for `caller` to download `file` (or its
    /// thumbnail), and when it expires (micros since the epoch).
    pub fn sign(&self, file: FileId, caller: &Caller, thumbnail: bool) -> (String, i64) {
        let now = time::now().timestamp();
        let expires = now.saturating_add(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2));
        let signed = Signed {
            file,
            caller: *caller,
            expires,
            thumbnail,
        };
        let signature = hex::encode(self.mac(&signed).finalize().into_bytes());
        let url = format!(
            "/v1.0/files/{file}/download?agent_id={}&customer_id={}&permission={}&expires={expires}&thumbnail={}&signature={signature}",
            caller.agent_id,
            caller.customer_id,
            caller.permission,
            u8::from(thumbnail)
        );
        (url, expires.saturating_mul(1_000_000))
    }

    /// Whether `signature` (hex) signs `signed` and it has not expired.
    pub fn check(&self, signed: &Signed, signature: &str) -> Result<(), &'static str> {
        let bytes =
            hex::decode(signature).map_err(|_| "The download URL's signature is malformed.")?;
        self.mac(signed)
            .verify_slice(&bytes)
            .map_err(|_| "The download URL's signature does not match.")?;
        if signed.expires < time::now().timestamp() {
            return Err("The download URL has expired; ask for the file again.");
        }
        Ok(())
    }
}
