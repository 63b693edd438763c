//! sea-orm models of file-service's tables.

pub mod attachment;
pub mod file;
