//! Who may change a talk: the one home of the table in `docs/DOMAIN.md`
//! ("Roles"). Reading, posting and reacting need only an active membership
//! (`access.rs`); leaving and joining are anyone's own business
//! (`membership.rs`). Everything else is decided here.

use talk_types::{ApiError, Reason};

use super::Caller;
use crate::db::entities::participant::{self, Role};
use crate::db::entities::talk::TalkType;

/// What the caller is to a talk, the strongest that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standing {
    /// An owner of the talk (its creator; both agents of a direct talk).
    Owner,
    /// A moderator of the talk.
    Moderator,
    /// An admin of the customer (whether in the talk or not).
    Admin,
    /// A plain participant.
    Member,
    /// An agent of the customer who is not in the talk.
    Outsider,
}

impl Standing {
    /// `caller`'s standing in a talk where its active record is `me`.
    pub(super) fn of(caller: &Caller, me: Option<&participant::Model>) -> Self {
        match me.map(|p| p.role) {
            Some(Role::Owner) => Self::Owner,
            Some(Role::Moderator) => Self::Moderator,
            _ if caller.is_admin() => Self::Admin,
            Some(Role::Member) => Self::Member,
            None => Self::Outsider,
        }
    }
}

/// A change of a talk that not every participant may make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// Rename (name, detail), close, reopen or delete the talk.
    Manage,
    /// Add another agent.
    AddOther,
    /// Remove another participant (`owner` tells whether it is an owner).
    RemoveOther { owner: bool },
    /// Make a participant a moderator or a member again.
    SetRole,
}

/// Whether `standing` may do `action` in a talk of type `kind`: 403
/// PERMISSION_DENIED (always for an outsider), or 409 DIRECT_TALK_FIXED for
/// a change of a direct talk's pair.
pub(super) fn allow(action: Action, kind: TalkType, standing: Standing) -> Result<(), ApiError> {
    use Standing::{Admin, Member, Moderator, Outsider, Owner};
    if standing == Outsider {
        // Not in the talk: nothing here is theirs to do (joining is not here).
        return Err(ApiError::permission_denied());
    }
    let direct = kind == TalkType::Direct;
    let allowed = match action {
        Action::AddOther | Action::RemoveOther { .. } if direct => {
            return Err(ApiError::of(
                Reason::DirectTalkFixed,
                "A direct talk is between its two agents: start a group to talk with more.",
            ));
        }
        Action::Manage | Action::RemoveOther { owner: false } => {
            matches!(standing, Owner | Moderator | Admin)
        }
        Action::RemoveOther { owner: true } | Action::SetRole => {
            matches!(standing, Owner | Admin)
        }
        Action::AddOther => matches!(standing, Owner | Moderator | Admin | Member),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::permission_denied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        use Standing::*;
        let kinds = [TalkType::Group, TalkType::Talk];
        let rows: [(Action, [bool; 5]); 5] = [
            // Owner, Moderator, Admin, Member, Outsider
            (Action::Manage, [true, true, true, false, false]),
            (Action::AddOther, [true, true, true, true, false]),
            (
                Action::RemoveOther { owner: false },
                [true, true, true, false, false],
            ),
            (
                Action::RemoveOther { owner: true },
                [true, false, true, false, false],
            ),
            (Action::SetRole, [true, false, true, false, false]),
        ];
        for kind in kinds {
            for (action, cells) in rows {
                for (standing, want) in [Owner, Moderator, Admin, Member, Outsider]
                    .into_iter()
                    .zip(cells)
                {
                    let got = allow(action, kind, standing);
                    assert_eq!(got.is_ok(), want, "{action:?} {kind:?} {standing:?}");
                }
            }
        }
        for standing in [Owner, Moderator, Admin, Member] {
            let refused = allow(Action::AddOther, TalkType::Direct, standing).unwrap_err();
            assert_eq!(refused.reason, "DIRECT_TALK_FIXED");
            assert_eq!(
                allow(Action::Manage, TalkType::Direct, standing).is_ok(),
                matches!(standing, Owner | Moderator | Admin)
            );
        }
    }
}
