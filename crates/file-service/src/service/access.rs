//! Who may read a file: its uploader, the customer's admins, and the active
//! participants of any talk it was posted in (talk-service says who they
//! are, asked on every read). Anyone else is told it does not exist.

use talk_auth::Caller;
use talk_proto::TalkRef;
use talk_types::{ApiError, ErrorKind};

use super::Files;
use crate::FileId;
use crate::db::entities::file;
use crate::db::queries::{attachments, files};
use crate::error::{Problem, db};

/// The talks of a file checked for one read, at most.
const MAX_TALKS_CHECKED: u64 = 100;

impl Files {
    /// File `id` if `caller` may read it: ready, not deleted, and the
    /// caller's own, an admin's, or posted in a talk the caller is in.
    pub(super) async fn readable(
        &self,
        caller: &Caller,
        id: FileId,
    ) -> Result<file::Model, ApiError> {
        let row = files::find(&self.db, caller.customer_id, id)
            .await
            .map_err(db)?
            .filter(|r| r.tm_delete.is_none() && r.state == files::READY)
            .ok_or_else(Problem::not_found)?;
        if self.may_read(caller, &row).await? {
            Ok(row)
        } else {
            Err(Problem::not_found())
        }
    }

    /// Whether `caller` may read `row` (of the caller's customer).
    pub(super) async fn may_read(
        &self,
        caller: &Caller,
        row: &file::Model,
    ) -> Result<bool, ApiError> {
        if row.customer_id != caller.customer_id {
            return Ok(false);
        }
        if row.owner_id == caller.agent_id || caller.is_admin() {
            return Ok(true);
        }
        let talks = attachments::talks_of(&self.db, caller.customer_id, row.id, MAX_TALKS_CHECKED)
            .await
            .map_err(db)?;
        for talk in talks {
            if self.is_participant(caller, &talk.to_string()).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `caller` is an active participant of `talk`; talk-service's
    /// refusals (no such talk, not a member) are a no.
    pub(super) async fn is_participant(
        &self,
        caller: &Caller,
        talk: &str,
    ) -> Result<bool, ApiError> {
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            TalkRef {
                talk_id: talk.to_owned(),
            },
        );
        match self.talks.clone().check_access(request).await {
            Ok(access) => Ok(access.into_inner().participant.is_some()),
            Err(status) => {
                let error = ApiError::from_status(&status);
                match error.kind {
                    ErrorKind::NotFound
                    | ErrorKind::PermissionDenied
                    | ErrorKind::InvalidArgument => Ok(false),
                    _ => Err(error),
                }
            }
        }
    }
}
