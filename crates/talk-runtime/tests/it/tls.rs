//! Mutual TLS between services: a guarded gRPC API served by `serve` with
//! `TALK_GRPC_TLS_*` lets in a client whose certificate the CA signed, and
//! refuses at the TLS handshake a client without a certificate, one signed
//! by another CA, and a plaintext client. The internal token is still
//! checked behind TLS; the ops port stays plaintext for probes.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use talk_proto::push_service_client::PushServiceClient;
use talk_proto::push_service_server::{PushService, PushServiceServer};
use talk_proto::{DisconnectAgentRequest, DisconnectAgentResponse, StatsRequest, StatsResponse};
use talk_runtime::{Health, Internal, MutualTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic::{Code, Request, Response, Status};

use crate::pki::Pki;

const SECRET: &[u8] = b"a-test-secret-of-enough-length-0123456789";
const REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";

/// A gRPC service that answers without looking at anything.
struct Fixed;

#[tonic::async_trait]
impl PushService for Fixed {
    async fn stats(&self, _: Request<StatsRequest>) -> Result<Response<StatsResponse>, Status> {
        Ok(Response::new(StatsResponse {
            connections: 7,
            ..StatsResponse::default()
        }))
    }

    async fn disconnect_agent(
        &self,
        _: Request<DisconnectAgentRequest>,
    ) -> Result<Response<DisconnectAgentResponse>, Status> {
        Ok(Response::new(DisconnectAgentResponse { closed: 0 }))
    }
}

/// A guarded gRPC API served with mutual TLS, its health on an ops port.
struct Server {
    addr: SocketAddr,
    ops: SocketAddr,
    shutdown: CancellationToken,
}

impl Server {
    async fn start(tls: MutualTls) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let ops = talk_testkit::free_addr();
        let internal = Internal::new("server", SECRET)
            .with_tls(tls)
            .with_health(Health::Ops(ops));
        let api = internal
            .guard(tonic::service::Routes::new(PushServiceServer::new(Fixed)).into_axum_router());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(talk_runtime::serve(
            listener,
            api,
            talk_runtime::always_ready(),
            shutdown.clone(),
        ));
        // Plaintext, like a kubelet probe.
        talk_testkit::wait_ready(
            &format!("http://{ops}"),
            None,
            talk_testkit::task_ended(&task),
        )
        .await
        .unwrap();
        Self {
            addr,
            ops,
            shutdown,
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn stats(channel: talk_runtime::Channel) -> Result<u64, Status> {
    let answer = PushServiceClient::new(channel)
        .stats(StatsRequest {})
        .await?;
    Ok(answer.into_inner().connections)
}

/// A raw TLS client trusting `ca`, presenting `identity` if any: sends one
/// HTTP/1.1 request and reads the answer to the end.
async fn raw_tls(
    addr: SocketAddr,
    ca: &MutualTls,
    identity: Option<&MutualTls>,
) -> std::io::Result<Vec<u8>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca.ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = match identity {
        Some(tls) => builder
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(&tls.cert)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_file(&tls.key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    stream.write_all(REQUEST).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(answer)
}

#[tokio::test]
async fn a_client_with_a_certificate_of_the_ca_gets_through_and_still_needs_the_token() {
    let pki = Pki::new("talk");
    let server = Server::start(pki.issue("agent-service")).await;
    let client = pki.issue("edge");

    // talk_runtime::channel: TLS with this process's certificate, and the token.
    let caller = Internal::new("edge", SECRET).with_tls(client.clone());
    let channel = talk_runtime::channel(&server.url(), &caller).unwrap();
    assert_eq!(stats(channel).await.unwrap(), 7);

    // The same certificate without the internal token: TLS proves the pod,
    // not the process.
    let channel = Endpoint::from_shared(server.url())
        .unwrap()
        .tls_config(client.client().unwrap())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let refused = PushServiceClient::new(channel)
        .stats(StatsRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    // The raw handshake completes and HTTP flows.
    let answer = raw_tls(server.addr, &client, Some(&client)).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 "), "{answer:?}");
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_at_the_handshake() {
    let pki = Pki::new("talk");
    let server = Server::start(pki.issue("agent-service")).await;
    let client = pki.issue("edge");

    let refused = raw_tls(server.addr, &client, None).await.unwrap_err();
    assert!(
        refused.to_string().contains("CertificateRequired"),
        "{refused}"
    );

    // A gRPC client that trusts the server but has no identity gets nowhere.
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&client.ca).unwrap()));
    let channel = Endpoint::from_shared(server.url())
        .unwrap()
        .tls_config(config)
        .unwrap()
        .connect_lazy();
    let anonymous = tonic::service::interceptor::InterceptedService::new(
        channel,
        Internal::new("edge", SECRET).attach(),
    );
    let refused = stats(anonymous).await.unwrap_err();
    assert_ne!(refused.code(), Code::Unauthenticated, "{refused:?}");
}

#[tokio::test]
async fn a_client_whose_certificate_another_ca_signed_is_refused_at_the_handshake() {
    let pki = Pki::new("talk");
    let server = Server::start(pki.issue("agent-service")).await;
    let trusting = pki.issue("edge");
    let other = Pki::new("stranger");
    let stranger = other.issue("edge");

    let refused = raw_tls(server.addr, &trusting, Some(&stranger))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("UnknownCA"), "{refused}");

    // Through talk_runtime::channel: it does not trust the server either.
    let caller = Internal::new("edge", SECRET).with_tls(stranger);
    let channel = talk_runtime::channel(&server.url(), &caller).unwrap();
    assert!(stats(channel).await.is_err());
}

#[tokio::test]
async fn a_plaintext_client_is_refused() {
    let pki = Pki::new("talk");
    let server = Server::start(pki.issue("agent-service")).await;

    let plain = Internal::new("edge", SECRET);
    let url = format!("http://{}", server.addr);
    let channel = talk_runtime::channel(&url, &plain).unwrap();
    let refused = stats(channel).await.unwrap_err();
    assert_ne!(refused.code(), Code::Unauthenticated, "{refused:?}");

    // Plain HTTP/1.1 gets no HTTP answer: the server wanted a ClientHello.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(REQUEST).await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // The ops port, on the other hand, is plaintext HTTP.
    let health = reqwest::get(format!("http://{}/healthz", server.ops))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn channels_refuse_a_scheme_that_does_not_match_the_tls_setting() {
    let pki = Pki::new("talk");
    let with_tls = Internal::new("edge", SECRET).with_tls(pki.issue("edge"));
    let without = Internal::new("edge", SECRET);
    assert!(talk_runtime::channel("http://127.0.0.1:1", &with_tls).is_err());
    assert!(talk_runtime::channel("https://127.0.0.1:1", &without).is_err());
    assert!(talk_runtime::channel("https://127.0.0.1:1", &with_tls).is_ok());
    assert!(talk_runtime::channel("http://127.0.0.1:1", &without).is_ok());
}

#[tokio::test]
async fn unusable_files_and_probes_behind_tls_are_refused_at_start() {
    let pki = Pki::new("talk");
    let good = pki.issue("agent-service");
    good.check().unwrap();
    let missing = MutualTls {
        key: good.key.with_file_name("missing.key"),
        ..good.clone()
    };
    let error = missing.check().unwrap_err().to_string();
    assert!(
        error.contains("TALK_GRPC_TLS_KEY") && error.contains("missing.key"),
        "{error}"
    );
    let not_a_ca = MutualTls {
        ca: good.key.clone(),
        ..good.clone()
    };
    let error = not_a_ca.check().unwrap_err().to_string();
    assert!(error.contains("TALK_GRPC_TLS_CA"), "{error}");

    // With TLS the health routes cannot share the port: no probe presents a
    // client certificate.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = Internal::new("agent-service", SECRET)
        .with_tls(good)
        .guard(axum::Router::new());
    let served = talk_runtime::serve(
        listener,
        api,
        talk_runtime::always_ready(),
        CancellationToken::new(),
    )
    .await;
    let error = served.unwrap_err().to_string();
    assert!(error.contains("TALK_OPS_ADDR"), "{error}");
}
