//! The caps on what clients grow in talk-service (`docs/API.md`, "Limits"):
//! active participants per talk, checked against the talk's `member_count`
//! under its row lock (every membership change recounts it under that
//! lock, so it is exact), and live talks per customer, counted in
//! `customer_talks` under the customer's row lock. Past a cap a write is a
//! 400 naming it, and changes nothing.

use talk_config::Config;
use talk_types::{ApiError, Reason};

/// talk-service's caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most active participants of one talk.
    pub participants_per_talk: u32,
    /// Most live (not deleted) talks of one customer.
    pub talks_per_customer: u32,
}

impl Limits {
    /// The caps `config` sets (`TALK_MAX_PARTICIPANTS_PER_TALK`,
    /// `TALK_MAX_TALKS_PER_CUSTOMER`).
    pub fn from_config(config: &Config) -> Self {
        Self {
            participants_per_talk: config.max_participants_per_talk,
            talks_per_customer: config.max_talks_per_customer,
        }
    }

    /// 400 TOO_MANY_PARTICIPANTS unless a talk of `members` active
    /// participants is within the cap.
    pub(super) fn check_participants(&self, members: usize) -> Result<(), ApiError> {
        let max = self.participants_per_talk;
        if members > max as usize {
            return Err(ApiError::of(
                Reason::TooManyParticipants,
                format!("A talk can have at most {max} active participants."),
            ));
        }
        Ok(())
    }

    /// 400 TOO_MANY_CUSTOMER_TALKS.
    pub(super) fn too_many_talks(&self) -> ApiError {
        ApiError::of(
            Reason::TooManyCustomerTalks,
            format!(
                "A customer can have at most {} talks that are not deleted; delete one first.",
                self.talks_per_customer
            ),
        )
    }
}

impl Default for Limits {
    /// The defaults of the configuration.
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}
