//! Every query of file-service, scoped to a customer by construction (but
//! the orphan sweep's, which spans them).

pub mod attachments;
pub mod files;
