//! Typed ids: newtypes over [`Uuid`] that are also sea-orm column types
//! (with the `db` feature, which only the crates that store them enable: the
//! edge and the gateway compile no database driver).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ApiError;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[cfg_attr(feature = "db", derive(sea_orm::DeriveValueType))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses a wire id; the error names the field (`field`) that held it.
            pub fn parse(field: &str, value: &str) -> Result<Self, ApiError> {
                Uuid::parse_str(value)
                    .map(Self)
                    .map_err(|_| ApiError::invalid_id(field))
            }

            /// What the id is called in messages.
            pub const LABEL: &'static str = $label;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        #[cfg(feature = "db")]
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// An agent: a person or bot of one customer.
    AgentId,
    "agent"
);
id_type!(
    /// A customer (tenant); nothing ever crosses customers.
    CustomerId,
    "customer"
);
id_type!(
    /// A talk ("chat" on the VoIPBIN wire).
    TalkId,
    "talk"
);
id_type!(
    /// A participant record (not the agent id).
    ParticipantId,
    "participant"
);
id_type!(
    /// A message.
    MessageId,
    "message"
);
id_type!(
    /// A domain event.
    EventId,
    "event"
);
id_type!(
    /// A webhook endpoint of one customer (webhook-service).
    WebhookId,
    "webhook"
);
id_type!(
    /// One delivery of one event (or ping) to one webhook endpoint, with its
    /// attempts (webhook-service).
    DeliveryId,
    "delivery"
);
id_type!(
    /// An uploaded file of one customer (file-service).
    FileId,
    "file"
);
