//! Optional mutual TLS between Talk's processes (`TALK_GRPC_TLS_CERT`,
//! `TALK_GRPC_TLS_KEY`, `TALK_GRPC_TLS_CA`).
//!
//! The internal token ([`crate::internal`]) proves which process calls and
//! for whom, but anyone on the network path could read or replay it. With
//! these three files set, every internal gRPC server accepts only TLS
//! connections whose client presents a certificate signed by the CA, and
//! every channel [`crate::channel`] makes presents this process's certificate
//! and checks the server's against the same CA. TLS proves the pod; the
//! token still proves the process and the agent it acts for.
//!
//! The certificates are read from files so that cert-manager (or a mesh)
//! can supply them; they are read when a server or channel starts, so a
//! renewed certificate is taken up by a restart. Handshakes run concurrently
//! and time out (`tls-listener`), so a slow or silent client holds up no
//! one; a refused handshake is logged and never reaches a router.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use talk_config::Config;
use tls_listener::{AsyncAccept, TlsListener};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// This process's certificate chain and key, and the CA that signs every
/// peer's certificate: PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutualTls {
    /// Certificate chain (`TALK_GRPC_TLS_CERT`, e.g. cert-manager's `tls.crt`).
    pub cert: PathBuf,
    /// Its private key (`TALK_GRPC_TLS_KEY`, `tls.key`).
    pub key: PathBuf,
    /// The CA certificate(s) a peer's certificate must be signed by
    /// (`TALK_GRPC_TLS_CA`, `ca.crt`).
    pub ca: PathBuf,
}

/// Why the TLS files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file is missing, unreadable or not PEM.
    #[error("{var} {path}: {source}")]
    Pem {
        /// The variable that names the file.
        var: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// A file has no certificate in it.
    #[error("{var} {path} holds no certificate")]
    NoCertificate {
        /// The variable that names the file.
        var: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// rustls refused a certificate or the key.
    #[error("{what}: {source}")]
    Rustls {
        /// What was being built.
        what: &'static str,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// The CA cannot verify client certificates.
    #[error("TALK_GRPC_TLS_CA: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

impl MutualTls {
    /// The files `TALK_GRPC_TLS_*` name; none when they are unset
    /// (`Config::validate` refuses a partial set).
    pub fn from_config(config: &Config) -> Option<Self> {
        Some(Self {
            cert: config.grpc_tls_cert.clone()?,
            key: config.grpc_tls_key.clone()?,
            ca: config.grpc_tls_ca.clone()?,
        })
    }

    /// Reads every file and builds both sides once, so that a process with
    /// unusable files stops at start with the file and the reason.
    pub fn check(&self) -> Result<(), TlsError> {
        self.server().map(drop)
    }

    /// The server side: this certificate, and a client certificate signed by
    /// the CA required on every connection.
    pub fn server(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for ca in certificates("TALK_GRPC_TLS_CA", &self.ca)? {
            roots.add(ca).map_err(|source| TlsError::Rustls {
                what: "TALK_GRPC_TLS_CA",
                source,
            })?;
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()?;
        let chain = certificates("TALK_GRPC_TLS_CERT", &self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|source| TlsError::Pem {
            var: "TALK_GRPC_TLS_KEY",
            path: self.key.clone(),
            source,
        })?;
        let rustls = |source| TlsError::Rustls {
            what: "TALK_GRPC_TLS_CERT and TALK_GRPC_TLS_KEY",
            source,
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rustls)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(rustls)?;
        // gRPC clients insist on HTTP/2 by ALPN; HTTP/1.1 for anything else.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The client side for tonic: this certificate as the client's identity,
    /// the CA as the only root a server's certificate may chain to.
    pub fn client(&self) -> Result<ClientTlsConfig, TlsError> {
        let pem = |var: &'static str, path: &Path| {
            std::fs::read(path).map_err(|e| TlsError::Pem {
                var,
                path: path.to_owned(),
                source: rustls::pki_types::pem::Error::Io(e),
            })
        };
        Ok(ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pem("TALK_GRPC_TLS_CA", &self.ca)?))
            .identity(Identity::from_pem(
                pem("TALK_GRPC_TLS_CERT", &self.cert)?,
                pem("TALK_GRPC_TLS_KEY", &self.key)?,
            )))
    }
}

/// Every certificate in a PEM file; at least one.
fn certificates(var: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |source| TlsError::Pem {
        var,
        path: path.to_owned(),
        source,
    };
    let found = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if found.is_empty() {
        return Err(TlsError::NoCertificate {
            var,
            path: path.to_owned(),
        });
    }
    Ok(found)
}

/// A TCP listener whose connections have Nagle's algorithm off before the
/// handshake (see [`crate::serve`]).
struct NoDelay(TcpListener);

impl AsyncAccept for NoDelay {
    type Connection = TcpStream;
    type Address = SocketAddr;
    type Error = io::Error;

    fn poll_accept(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(TcpStream, SocketAddr), io::Error>> {
        self.0.poll_accept(cx).map_ok(|(tcp, addr)| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY");
            }
            (tcp, addr)
        })
    }
}

/// Connections of a listener that completed a mutual TLS handshake: what
/// `axum::serve` accepts when a server requires client certificates.
pub(crate) struct TlsAccept(TlsListener<NoDelay, TlsAcceptor>);

impl TlsAccept {
    pub(crate) fn new(listener: TcpListener, config: Arc<ServerConfig>) -> Self {
        Self(
            tls_listener::builder(TlsAcceptor::from(config))
                .handshake_timeout(HANDSHAKE_TIMEOUT)
                .listen(NoDelay(listener)),
        )
    }
}

impl axum::serve::Listener for TlsAccept {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        use tls_listener::Error;
        loop {
            match self.0.accept().await {
                Ok(accepted) => return accepted,
                Err(Error::TlsAcceptError {
                    error, peer_addr, ..
                }) => {
                    tracing::warn!(peer = %peer_addr, error = %error, "TLS handshake refused");
                }
                Err(Error::HandshakeTimeout { peer_addr, .. }) => {
                    tracing::warn!(peer = %peer_addr, "TLS handshake timed out");
                }
                Err(Error::ListenerError(e)) => accept_failed(e).await,
                // tls-listener's error is non-exhaustive.
                Err(e) => tracing::warn!(error = %e, "TLS accept failed"),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.listener().0.local_addr()
    }
}

/// What axum's own TCP listener does when `accept` fails: a connection that
/// went away is nothing; anything else (e.g. out of file descriptors) is
/// logged and waited out.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
