//! Request extractors: each turns one part of a request into typed input or a
//! VoIPBIN error, so handlers stay "extract, call, map".

mod auth;
mod json;
mod path;
mod query;
mod write;

pub use auth::{Admin, Auth};
pub use json::JsonBody;
pub use path::{Id, IdPair, MessageEmoji, PathId};
pub use query::{AfterSeq, ChatIdQuery, Pagination};
pub use write::Write;
