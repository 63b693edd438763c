//! What an agent may read, as a set: the rule of `service::access::judge`
//! (a live talk, and an active participant unless it is public) applied to
//! every talk of the customer at once.

use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Select};
use talk_types::{AgentId, CustomerId, TalkId};

use crate::db::entities::participant::{self, ParticipantState};
use crate::db::entities::talk::{self, TalkType};

/// The live talks of `customer` that `agent` may read: those it is an
/// active participant of, and the public ones.
pub fn readable(customer: CustomerId, agent: AgentId) -> Select<talk::Entity> {
    let member_of = Query::select()
        .column(participant::Column::TalkId)
        .from(participant::Entity)
        .and_where(participant::Column::CustomerId.eq(customer))
        .and_where(participant::Column::OwnerId.eq(agent))
        .and_where(participant::Column::State.eq(ParticipantState::Active))
        .to_owned();
    talk::Entity::find()
        .filter(talk::Column::CustomerId.eq(customer))
        .filter(talk::Column::TmDelete.is_null())
        .filter(
            Condition::any()
                .add(talk::Column::Kind.eq(TalkType::Talk))
                .add(talk::Column::Id.in_subquery(member_of)),
        )
}

/// The ids of [`readable`].
pub async fn readable_ids<C: ConnectionTrait>(
    conn: &C,
    customer: CustomerId,
    agent: AgentId,
) -> Result<Vec<TalkId>, DbErr> {
    readable(customer, agent)
        .select_only()
        .column(talk::Column::Id)
        .into_tuple::<TalkId>()
        .all(conn)
        .await
}

/// [`readable`] talks whose name contains each of `words` (lowercase),
/// ignoring case.
pub fn named(customer: CustomerId, agent: AgentId, words: &[String]) -> Select<talk::Entity> {
    words
        .iter()
        .fold(readable(customer, agent), |select, word| {
            let pattern = format!("%{}%", escape_like(word));
            select.filter(
                Expr::expr(Func::lower(Expr::col((talk::Entity, talk::Column::Name))))
                    .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
            )
        })
}

/// `word` with LIKE's wildcards and escape character escaped.
fn escape_like(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
