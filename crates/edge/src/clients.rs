//! gRPC clients of the internal services. Channels connect lazily, so building
//! them never waits on a service.

use talk_config::Config;
use talk_proto::access_key_service_client::AccessKeyServiceClient;
use talk_proto::agent_service_client::AgentServiceClient;
use talk_proto::archive_service_client::ArchiveServiceClient;
use talk_proto::directory_service_client::DirectoryServiceClient;
use talk_proto::file_service_client::FileServiceClient;
use talk_proto::message_service_client::MessageServiceClient;
use talk_proto::receipt_service_client::ReceiptServiceClient;
use talk_proto::search_service_client::SearchServiceClient;
use talk_proto::signal_service_client::SignalServiceClient;
use talk_proto::talk_service_client::TalkServiceClient;
use talk_proto::webhook_service_client::WebhookServiceClient;
use talk_runtime::Channel;

use crate::Error;

/// One client per internal service (cheap to clone).
#[derive(Clone, Debug)]
pub struct Clients {
    /// agent-service.
    pub agents: AgentServiceClient<Channel>,
    /// talk-service.
    pub talks: TalkServiceClient<Channel>,
    /// talk-service's archiving (settings, listing by state).
    pub archive: ArchiveServiceClient<Channel>,
    /// message-service's read receipts.
    pub receipts: ReceiptServiceClient<Channel>,
    /// talk-service's signals (typing, status announcements).
    pub signals: SignalServiceClient<Channel>,
    /// message-service.
    pub messages: MessageServiceClient<Channel>,
    /// message-service's search.
    pub search: SearchServiceClient<Channel>,
    /// talk-service's directory (talk search).
    pub directory: DirectoryServiceClient<Channel>,
    /// agent-service's access keys.
    pub access_keys: AccessKeyServiceClient<Channel>,
    /// webhook-service.
    pub webhooks: WebhookServiceClient<Channel>,
    /// file-service.
    pub files: FileServiceClient<Channel>,
}

impl Clients {
    /// Clients of the services at the configured URLs.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let internal = talk_runtime::Internal::from_config("edge", config);
        let channel = |name: &'static str, url: &str| {
            talk_runtime::channel(url, &internal).map_err(|_| Error::ServiceUrl {
                service: name,
                url: url.to_owned(),
            })
        };
        let talk_service = channel("talk-service", &config.talk_service_url)?;
        let agent_service = channel("agent-service", &config.agent_service_url)?;
        let message_service = channel("message-service", &config.message_service_url)?;
        Ok(Self {
            agents: AgentServiceClient::new(agent_service.clone()),
            access_keys: AccessKeyServiceClient::new(agent_service),
            talks: TalkServiceClient::new(talk_service.clone()),
            signals: SignalServiceClient::new(talk_service.clone()),
            receipts: ReceiptServiceClient::new(channel(
                "message-service",
                &config.message_service_url,
            )?),
            directory: DirectoryServiceClient::new(talk_service.clone()),
            archive: ArchiveServiceClient::new(talk_service),
            messages: MessageServiceClient::new(message_service.clone()),
            search: SearchServiceClient::new(message_service),
            webhooks: WebhookServiceClient::new(channel(
                "webhook-service",
                &config.webhook_service_url,
            )?),
            files: FileServiceClient::new(channel("file-service", &config.file_service_url)?),
        })
    }
}
