//! Every query of talk-service, scoped by customer where a caller is involved.

pub mod access;
pub mod customer_talks;
pub mod direct_pairs;
pub mod directory;
pub mod participants;
pub mod settings;
pub mod talks;
