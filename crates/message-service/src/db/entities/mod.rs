//! sea-orm models of message-service's tables.

pub mod consumer;
pub mod edit;
pub mod mention;
pub mod message;
pub mod reaction;
pub mod read_state;
pub mod talk_counter;
