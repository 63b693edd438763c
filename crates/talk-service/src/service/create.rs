//! Creating talks: type rules, the creator, direct-pair de-duplication, the
//! caps on participants per talk and talks per customer.

use talk_events::kinds::{ParticipantJoined, TalkCreated};
use talk_proto::{CreateTalkResponse, WriteOptions};
use talk_store::db_error;
use talk_types::{AgentId, ApiError, ParticipantId, Reason, TalkId, time};

use super::{
    Begun, Caller, MAX_DETAIL_CHARS, MAX_NAME_CHARS, Operation, Scope, TalkEvents, Talks, Write,
    convert,
};
use crate::db::entities::participant::{self, OWNER_AGENT, ParticipantState, Role};
use crate::db::entities::talk::{self, TalkState, TalkType};
use crate::db::queries::{customer_talks, direct_pairs, participants, talks};

/// A create request, parsed at the boundary (ids are ids, the type is known).
#[derive(Clone, Debug, Default)]
pub struct NewTalk {
    /// The type; `None` infers it from the number of agents.
    pub kind: Option<TalkType>,
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub detail: Option<String>,
    /// Agents to add besides the creator (duplicates and the creator are collapsed).
    pub participants: Vec<AgentId>,
}

/// 400 FIELD_TOO_LONG when `value` has more than `max` characters.
pub(super) fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::of(
            Reason::FieldTooLong,
            format!("The field {field} is longer than {max} characters."),
        )),
        _ => Ok(()),
    }
}

impl Talks {
    /// Creates a talk, or returns the pair's existing direct talk (`created` false).
    pub async fn create(
        &self,
        caller: Caller,
        options: Option<WriteOptions>,
        new: NewTalk,
    ) -> Result<CreateTalkResponse, ApiError> {
        let scope = Scope::new(caller.agent_id, Operation::CreateTalk, caller.agent_id);
        if let Some(replay) = self.writes.recorded(&scope, options.as_ref()).await? {
            return Ok(replay);
        }
        let NewTalk {
            kind,
            name,
            detail,
            participants: listed,
        } = new;
        check_len("name", name.as_deref(), MAX_NAME_CHARS)?;
        check_len("detail", detail.as_deref(), MAX_DETAIL_CHARS)?;
        let mut members = vec![caller.agent_id];
        for agent in listed {
            if !members.contains(&agent) {
                members.push(agent);
            }
        }
        let kind = kind.unwrap_or(if members.len() == 2 {
            TalkType::Direct
        } else {
            TalkType::Group
        });
        if kind == TalkType::Direct && members.len() != 2 {
            return Err(ApiError::of(
                Reason::InvalidParticipants,
                "A direct talk needs exactly one other agent.",
            ));
        }
        self.limits.check_participants(members.len())?;
        self.agents.require(&caller, &members).await?;

        let mut write = match self
            .writes
            .begin::<CreateTalkResponse>(&scope, options.as_ref())
            .await?
        {
            Begun::Replay(response) => return Ok(response),
            Begun::Fresh(write) => write,
        };
        let id = TalkId::new();
        if kind == TalkType::Direct
            && let Some(existing) = self.claim_pair(&write, &caller, members[1], id).await?
        {
            let response = CreateTalkResponse {
                talk: Some(convert::talk(&existing)),
                created: false,
            };
            write.commit(&response).await?;
            return Ok(response);
        }
        // Locks the customer's count until commit: its creates count one at a time.
        let counted = customer_talks::take(
            write.txn(),
            caller.customer_id,
            self.limits.talks_per_customer,
        )
        .await
        .map_err(db_error)?;
        if !counted {
            return Err(self.limits.too_many_talks());
        }

        let now = time::now();
        let model = talk::Model {
            id: id.0,
            customer_id: caller.customer_id,
            kind,
            name: name.unwrap_or_default(),
            detail: detail.unwrap_or_default(),
            state: TalkState::Active,
            member_count: i32::try_from(members.len()).unwrap_or(i32::MAX),
            tm_create: now,
            tm_update: now,
            tm_delete: None,
            tm_activity: now,
            close_reason: None,
        };
        talks::insert(write.txn(), model.clone())
            .await
            .map_err(db_error)?;
        let records: Vec<participant::Model> = members
            .iter()
            .map(|agent| participant::Model {
                id: ParticipantId::new().0,
                customer_id: caller.customer_id,
                talk_id: id,
                owner_type: OWNER_AGENT.to_owned(),
                owner_id: *agent,
                state: ParticipantState::Active,
                // The creator; in a direct talk both agents are peers.
                role: if *agent == caller.agent_id || kind == TalkType::Direct {
                    Role::Owner
                } else {
                    Role::Member
                },
                tm_joined: now,
                tm_left: None,
            })
            .collect();
        participants::insert_many(write.txn(), records.clone())
            .await
            .map_err(db_error)?;
        for record in &records {
            write
                .event_about(ParticipantJoined(convert::participant(record)), &model)
                .at_creation = true;
        }
        write.event_about(TalkCreated(convert::talk(&model)), &model);
        let response = CreateTalkResponse {
            talk: Some(convert::talk(&model)),
            created: true,
        };
        write.commit(&response).await?;
        Ok(response)
    }

    /// Makes `id` the direct talk of the caller and `other`, or returns their
    /// live direct talk. Concurrent creates of one pair serialise on the pair's key.
    async fn claim_pair(
        &self,
        write: &Write,
        caller: &Caller,
        other: AgentId,
        id: TalkId,
    ) -> Result<Option<talk::Model>, ApiError> {
        let txn = write.txn();
        let customer = caller.customer_id;
        if direct_pairs::claim(txn, customer, caller.agent_id, other, id)
            .await
            .map_err(db_error)?
        {
            return Ok(None);
        }
        let Some(existing) = direct_pairs::find(txn, customer, caller.agent_id, other)
            .await
            .map_err(db_error)?
        else {
            direct_pairs::claim(txn, customer, caller.agent_id, other, id)
                .await
                .map_err(db_error)?;
            return Ok(None);
        };
        let live = talks::find(txn, customer, existing)
            .await
            .map_err(db_error)?
            .filter(|t| t.tm_delete.is_none());
        if live.is_none() {
            direct_pairs::replace(txn, customer, caller.agent_id, other, id)
                .await
                .map_err(db_error)?;
        }
        Ok(live)
    }
}
