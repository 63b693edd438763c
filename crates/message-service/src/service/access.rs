//! Who may read and write a talk's messages, as talk-service says.

use talk_proto::{Access, AccessAnswer, AccessQuery, TalkRef};
use talk_types::{ApiError, Reason, TalkId};

use super::{Caller, Messages};

impl Messages {
    /// What `caller` may do in `talk`; talk-service's 404 or 403 passes through.
    pub(super) async fn access(&self, caller: &Caller, talk: TalkId) -> Result<Access, ApiError> {
        let request = talk_runtime::grpc::acting(
            caller.to_wire(),
            TalkRef {
                talk_id: talk.to_string(),
            },
        );
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
        writable(self.checked(caller, talk).await?)
    }

    /// [`Messages::access`] served in rounds: the checks of one talk that
    /// arrive while one is under way are the next round, one
    /// `CheckAccessMany` (which starts after each of them arrived, so it sees
    /// every change answered before).
    async fn checked(&self, caller: &Caller, talk: TalkId) -> Result<Access, ApiError> {
        let server = || {
            let messages = self.clone();
            move |callers: Vec<talk_proto::Caller>| {
                let messages = messages.clone();
                async move { messages.check_many(talk, callers).await }
            }
        };
        self.checks
            .join((caller.customer_id, talk), caller.to_wire(), server)
            .await
            .unwrap_or_else(|| Err(ApiError::internal()))
    }

    /// What each of `callers` (of one customer) may do in `talk`, with one
    /// `CheckAccessMany`: one answer per caller, in order.
    pub(super) async fn check_many(
        &self,
        talk: TalkId,
        callers: Vec<talk_proto::Caller>,
    ) -> Vec<Result<Access, ApiError>> {
        let asked = callers.len();
        let request = talk_runtime::grpc::request(AccessQuery {
            talk_id: talk.to_string(),
            callers,
        });
        let mut answers: Vec<_> = match self.talks.clone().check_access_many(request).await {
            Ok(answers) => answers
                .into_inner()
                .answers
                .into_iter()
                .map(|a| answer(a, talk))
                .collect(),
            Err(status) => vec![Err(ApiError::from_status(&status)); asked],
        };
        answers.resize(asked, Err(ApiError::internal()));
        answers
    }
}

/// `access` if it lets its caller write: an active participant of an active talk.
pub(super) fn writable(access: Access) -> Result<Access, ApiError> {
    let participant = access.participant.as_ref().filter(|p| p.state == "active");
    if participant.is_none() {
        return Err(ApiError::permission_denied());
    }
    if access.talk.as_ref().is_some_and(|t| t.state != "active") {
        return Err(ApiError::of(
            Reason::TalkClosed,
            "The talk is closed; reopen it to post.",
        ));
    }
    Ok(access)
}

/// One caller's answer of a `CheckAccessMany`.
fn answer(answer: AccessAnswer, talk: TalkId) -> Result<Access, ApiError> {
    match answer {
        AccessAnswer {
            access: Some(access),
            ..
        } if access.talk.is_some() => Ok(access),
        AccessAnswer {
            refusal: Some(refusal),
            ..
        } => Err(refusal.into()),
        _ => {
            tracing::warn!(talk_id = %talk, "talk-service answered an access check without a talk");
            Err(ApiError::internal())
        }
    }
}
