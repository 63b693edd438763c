//! One webhook request over its own connection: HTTP/1.1, over TLS
//! (rustls with ring, Mozilla's roots) for `https://`, to the host's first
//! address that answers — public addresses only unless private ones are
//! allowed, checked after resolution so a name cannot lead inward. No
//! redirect is followed; the whole attempt has one timeout; at most
//! [`MAX_RESPONSE_BYTES`] of the answer are read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::Url;

use super::address::is_public;

/// Most of an answer's body kept.
pub const MAX_RESPONSE_BYTES: usize = 4096;
const AGENT: &str = concat!("Talk-Webhooks/", env!("CARGO_PKG_VERSION"));

/// What an attempt got: a status and the start of the body, or why none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The endpoint answered.
    Status(u16, String),
    /// It did not.
    Failed(String),
}

/// Sends webhook requests.
#[derive(Clone)]
pub struct Sender {
    tls: TlsConnector,
    allow_private: bool,
    timeout: Duration,
}

impl Sender {
    /// A sender trusting Mozilla's roots.
    pub fn new(allow_private: bool, timeout: Duration) -> Result<Self, rustls::Error> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        Self::with_roots(roots, allow_private, timeout)
    }

    /// A sender trusting `roots`.
    pub fn with_roots(
        roots: rustls::RootCertStore,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
            allow_private,
            timeout,
        })
    }

    /// Posts `body` with `headers` to `url`.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: String) -> Answer {
        match tokio::time::timeout(self.timeout, self.attempt(url, headers, body)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(why)) => Answer::Failed(why),
            Err(_) => Answer::Failed(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }

    async fn attempt(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<Answer, String> {
        let url = Url::parse(url).map_err(|_| "the URL is invalid".to_owned())?;
        let host = url.host_str().ok_or("the URL has no host")?.to_owned();
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        let tcp = self.connect(&host, port).await?;
        // Origin form (`/path?query`): the request line a server expects.
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let mut request = Request::post(target)
            .header(HOST, host_header(&url))
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, AGENT);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| "the request could not be built".to_owned())?;
        match url.scheme() {
            "https" => {
                let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                    .map_err(|_| "the host is not a TLS server name".to_owned())?;
                let tls = self
                    .tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS failed: {e}"))?;
                exchange(tls, request).await
            }
            _ => exchange(tcp, request).await,
        }
    }

    /// A connection to the first of `host`'s allowed addresses that accepts.
    async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, String> {
        let host = host.trim_matches(['[', ']']);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| "the host name does not resolve".to_owned())?
            .filter(|a| self.allow_private || is_public(a.ip()))
            .collect();
        if addrs.is_empty() {
            return Err("the host has no public address".to_owned());
        }
        for addr in addrs {
            if let Ok(stream) = TcpStream::connect(addr).await {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
        }
        Err("could not connect".to_owned())
    }
}

/// `host[:port]` as the Host header carries it.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// One request and the start of its answer on `io`.
async fn exchange<T>(io: T, request: Request<Full<Bytes>>) -> Result<Answer, String>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("the request failed: {e}"))?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut kept = Vec::new();
        while kept.len() < MAX_RESPONSE_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        let room = MAX_RESPONSE_BYTES - kept.len();
                        kept.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                Some(Err(_)) | None => break,
            }
        }
        Ok(Answer::Status(
            status,
            String::from_utf8_lossy(&kept).into_owned(),
        ))
    }
    .await;
    connection.abort();
    result
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// Answers one request on `listener` with `answer`; returns what it read.
    async fn answer_once<S>(stream: S, answer: &'static str) -> String
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut stream = stream;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("\"ok\":true}") {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        String::from_utf8_lossy(&seen).into_owned()
    }

    const BODY: &str = r#"{"ok":true}"#;

    #[tokio::test]
    async fn https_is_spoken_with_the_trusted_roots_and_refused_otherwise() {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
        let cert = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let served = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.expect("accept");
                if let Ok(tls) = acceptor.accept(tcp).await {
                    seen.push(
                        answer_once(tls, "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok")
                            .await,
                    );
                }
            }
            seen
        });
        let url = format!("https://localhost:{port}/hook");
        let headers = [("webhook-id", "msg_1".to_owned())];

        // Mozilla's roots do not include a self-signed certificate.
        let strict = Sender::new(true, Duration::from_secs(5)).expect("sender");
        let refused = strict.post(&url, &headers, BODY.to_owned()).await;
        assert!(
            matches!(&refused, Answer::Failed(why) if why.starts_with("TLS failed")),
            "{refused:?}"
        );

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).expect("root");
        let trusting = Sender::with_roots(roots, true, Duration::from_secs(5)).expect("sender");
        let answer = trusting.post(&url, &headers, BODY.to_owned()).await;
        assert_eq!(answer, Answer::Status(202, "ok".to_owned()));
        let seen = served.await.expect("server");
        assert_eq!(seen.len(), 1, "one TLS session got through");
        assert!(seen[0].starts_with("POST /hook HTTP/1.1"), "{}", seen[0]);
        assert!(seen[0].contains("webhook-id: msg_1"), "{}", seen[0]);
        assert!(seen[0].ends_with(BODY), "{}", seen[0]);
    }

    #[tokio::test]
    async fn redirects_are_answers_and_long_bodies_are_cut() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let long = "x".repeat(10_000);
            let answer = format!(
                "HTTP/1.1 302 Found\r\nlocation: http://example.com/\r\ncontent-length: {}\r\n\r\n{long}",
                long.len()
            );
            answer_once(tcp, Box::leak(answer.into_boxed_str())).await;
        });
        let sender = Sender::new(true, Duration::from_secs(5)).expect("sender");
        let answer = sender
            .post(&format!("http://127.0.0.1:{port}/"), &[], BODY.to_owned())
            .await;
        let Answer::Status(302, body) = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(body.len(), MAX_RESPONSE_BYTES);
    }

    #[tokio::test]
    async fn inward_addresses_are_not_connected_to_unless_allowed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let sender = Sender::new(false, Duration::from_secs(5)).expect("sender");
        let answer = sender
            .post(&format!("http://localhost:{port}/"), &[], BODY.to_owned())
            .await;
        assert_eq!(
            answer,
            Answer::Failed("the host has no public address".to_owned())
        );
    }

    #[tokio::test]
    async fn a_silent_endpoint_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let _held = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(tcp);
        });
        let sender = Sender::new(true, Duration::from_millis(200)).expect("sender");
        let answer = sender
            .post(&format!("http://127.0.0.1:{port}/"), &[], BODY.to_owned())
            .await;
        assert_eq!(answer, Answer::Failed("no answer within 200 ms".to_owned()));
    }
}
