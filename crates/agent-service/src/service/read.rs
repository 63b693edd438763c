//! Reads: one agent, a page of agents, and resolution of many ids.

use talk_store::db_error;
use talk_types::{AgentId, ApiError, Reason, time};

use super::{Agents, Caller, not_found};
use crate::db::entities::agent;
use crate::db::queries::agents;

/// Largest (and default) page size, as in VoIPBIN.
/// Most ids one resolution may ask for.
const RESOLVE_MAX: usize = 1000;

/// One page of agents, newest first.
#[derive(Debug)]
pub struct Page {
    /// The agents of the page.
    pub agents: Vec<agent::Model>,
    /// `tm_create` of the last agent, or empty for an empty page.
    pub next_page_token: String,
}

impl Agents {
    /// A live agent of the caller's customer.
    pub async fn get(&self, caller: &Caller, id: AgentId) -> Result<agent::Model, ApiError> {
        agents::find(&self.db, caller.customer_id, id)
            .await
            .map_err(db_error)?
            .ok_or_else(not_found)
    }

    /// A page of the caller's customer's live agents. `page_size` outside
    /// 1..=100 means 100; `page_token` is the `tm_create` of the previous
    /// page's last agent.
    pub async fn list(
        &self,
        caller: &Caller,
        page_size: u32,
        page_token: &str,
    ) -> Result<Page, ApiError> {
        let (size, before) = talk_types::page::parse(page_size, page_token)?;
        let rows = agents::list(&self.db, caller.customer_id, before, size)
            .await
            .map_err(db_error)?;
        let next_page_token = rows
            .last()
            .map(|r| time::format(&r.tm_create))
            .unwrap_or_default();
        Ok(Page {
            agents: rows,
            next_page_token,
        })
    }

    /// The live agents of the caller's customer among `ids`, in the order
    /// asked, and the ids (as given) that are not.
    pub async fn resolve(
        &self,
        caller: &Caller,
        ids: &[String],
    ) -> Result<(Vec<agent::Model>, Vec<String>), ApiError> {
        if ids.len() > RESOLVE_MAX {
            return Err(ApiError::of(
                Reason::TooManyIds,
                format!("At most {RESOLVE_MAX} agent ids can be resolved at once."),
            ));
        }
        let parsed: Vec<Option<AgentId>> = ids.iter().map(|s| s.parse().ok()).collect();
        let mut wanted: Vec<AgentId> = parsed.iter().flatten().copied().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let rows = agents::find_many(&self.db, caller.customer_id, &wanted)
            .await
            .map_err(db_error)?;
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for (given, id) in ids.iter().zip(parsed) {
            match id.and_then(|id| rows.iter().find(|r| r.id == id.0)) {
                Some(row) if !found.iter().any(|f: &agent::Model| f.id == row.id) => {
                    found.push(row.clone());
                }
                Some(_) => {}
                None => missing.push(given.clone()),
            }
        }
        Ok((found, missing))
    }
}
