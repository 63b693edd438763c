//! Ids, the error vocabulary, paging and time formatting shared by every Talk crate.

pub mod error;
pub mod ids;
pub mod page;
pub mod reason;
pub mod time;

pub use error::{ApiError, ErrorKind};
pub use ids::{
    AgentId, CustomerId, DeliveryId, EventId, FileId, MessageId, ParticipantId, TalkId, WebhookId,
};
pub use reason::Reason;
