//! Where Talk may deliver: `https://` URLs of public addresses, unless
//! `TALK_WEBHOOK_ALLOW_PRIVATE` lets `http://`, loopback and private
//! addresses in too. Checked when an endpoint is saved (its host's
//! addresses included) and again for every connection
//! ([`super::http::Sender`]), so a name that later resolves inward is refused.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::Problem;
use talk_types::ApiError;

/// Longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Whether `ip` is on the public internet (not loopback, private,
/// link-local, shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Checks an endpoint URL; the error names the problem. Resolves its host
/// unless private addresses are allowed.
pub async fn check(raw: &str, allow_private: bool) -> Result<Url, ApiError> {
    let bad = |why: &str| Problem::InvalidWebhookUrl.with(format!("url: {why}"));
    if raw.len() > MAX_URL_LEN {
        return Err(bad("longer than 2048 characters."));
    }
    let url = Url::parse(raw).map_err(|_| bad("not an absolute URL."))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(bad("must be https://.")),
        _ => return Err(bad("must be an https:// URL.")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials."));
    }
    let host = url.host().ok_or_else(|| bad("has no host."))?;
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host {
        Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        Host::Domain(name) => {
            if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") {
                return Err(bad("is a loopback address."));
            }
            tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| bad("its host name does not resolve."))?
                .map(|a| a.ip())
                .collect()
        }
    };
    if addrs.iter().any(|ip| !is_public(*ip)) {
        return Err(bad("is a loopback, private or reserved address."));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inward_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_against_the_setting() {
        assert!(check("not a url", true).await.is_err());
        assert!(check("ftp://example.com/", true).await.is_err());
        assert!(check("http://127.0.0.1:9/hook", false).await.is_err());
        assert!(check("https://127.0.0.1/hook", false).await.is_err());
        assert!(check("https://10.0.0.1/hook", false).await.is_err());
        assert!(check("https://localhost/hook", false).await.is_err());
        assert!(check("https://user:pw@8.8.8.8/hook", false).await.is_err());
        assert!(check("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check("https://8.8.8.8/hook", false).await.is_ok());
    }
}
