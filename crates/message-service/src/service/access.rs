//! Who may read and write a talk's messages, as talk-service says.

use talk_proto::{Access, TalkRef};
use talk_types::{ApiError, TalkId};

use super::{Caller, Messages};

impl Messages {
    /// What `caller` may do in `talk`; talk-service's 404 or 403 passes through.
    pub(super) async fn access(&self, caller: &Caller, talk: TalkId) -> Result<Access, ApiError> {
        let request = talk_runtime::grpc::request(TalkRef {
            caller: Some(caller.wire.clone()),
            talk_id: talk.to_string(),
        });
        let access = self
            .talks
            .clone()
            .check_access(request)
            .await
            .map_err(|status| ApiError::from_status(&status))?
            .into_inner();
        if access.talk.is_none() {
            tracing::warn!(talk_id = %talk, "talk-service answered an access check without a talk");
            return Err(ApiError::internal());
        }
        Ok(access)
    }

    /// Like [`Messages::access`], and the caller must be an active participant
    /// of an active talk: what posting, editing and reacting need.
    pub(super) async fn write_access(
        &self,
        caller: &Caller,
        talk: TalkId,
    ) -> Result<Access, ApiError> {
        let access = self.access(caller, talk).await?;
        let participant = access.participant.as_ref().filter(|p| p.state == "active");
        if participant.is_none() {
            return Err(ApiError::permission_denied());
        }
        if access.talk.as_ref().is_some_and(|t| t.state != "active") {
            return Err(ApiError::conflict(
                "TALK_CLOSED",
                "The talk is closed; reopen it to post.",
            ));
        }
        Ok(access)
    }
}
