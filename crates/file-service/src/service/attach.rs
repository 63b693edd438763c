//! Attaching files to a message: every file must exist, be the customer's,
//! not deleted and readable by the poster, who must be an active participant
//! of the talk. Each file is then linked to the talk, so its participants
//! may download it.

use sea_orm::TransactionTrait;
use talk_auth::Caller;
use talk_proto::File;
use talk_types::{ApiError, TalkId, time};

use super::Files;
use crate::FileId;
use crate::db::queries::{attachments, files};
use crate::error::{Problem, db};

impl Files {
    /// Links `file_ids` to `talk` for `caller`'s message; answers the files
    /// in order. The first file that cannot be attached is a 400 naming it.
    pub async fn attach(
        &self,
        caller: &Caller,
        talk: &str,
        file_ids: &[String],
    ) -> Result<Vec<File>, ApiError> {
        let talk = TalkId::parse("talk_id", talk)?;
        if !self.is_participant(caller, &talk.to_string()).await? {
            return Err(ApiError::permission_denied());
        }
        let mut rows = Vec::with_capacity(file_ids.len());
        for raw in file_ids {
            let refused = || {
                Problem::InvalidFileId.with(format!(
                    "The file {raw} does not exist, is deleted or is not yours to attach."
                ))
            };
            let id: FileId = raw.parse().map_err(|_| ApiError::invalid_id("file_id"))?;
            let row = files::find(&self.db, caller.customer_id, id)
                .await
                .map_err(db)?
                .filter(|r| r.tm_delete.is_none() && r.state == files::READY)
                .ok_or_else(refused)?;
            if !self.may_read(caller, &row).await? {
                return Err(refused());
            }
            rows.push(row);
        }
        let txn = self.db.begin().await.map_err(db)?;
        let now = time::now();
        for row in &rows {
            attachments::attach(&txn, caller.customer_id, row.id, talk, now)
                .await
                .map_err(db)?;
        }
        txn.commit().await.map_err(db)?;
        Ok(rows.iter().map(|r| self.wire(r, caller)).collect())
    }
}
