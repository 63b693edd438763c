//! sea-orm models of talk-service's tables.

pub mod direct_pair;
pub mod participant;
pub mod talk;
