//! sea-orm models of talk-service's tables.

pub mod customer_talks;
pub mod direct_pair;
pub mod participant;
pub mod settings;
pub mod talk;
