//! The journal of changes made in the directory and on a key together (two-phase: stage on
//! the key, change the directory, commit on the key). Each step is written before the next
//! begins, so an interrupted change can be finished or undone on the key's next connection.

use super::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// About to stage on the key; the directory is untouched.
    Started,
    /// The key holds the new password beside the old one.
    Staged,
    /// The directory accepted the new password; the key must commit.
    DirectoryChanged,
    Committed,
    Aborted,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Started => "started",
            Step::Staged => "staged",
            Step::DirectoryChanged => "directory_changed",
            Step::Committed => "committed",
            Step::Aborted => "aborted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenChange {
    pub id: i64,
    pub slot: i64,
    pub user_dn: String,
    pub pwd_last_set_before: i64,
    pub step: String,
    /// When the directory write was about to happen (the baseline was read).
    pub started_at: i64,
}

impl Store {
    pub async fn journal_start(
        &self,
        key_id: i64,
        slot: u16,
        user_dn: &str,
        pwd_last_set_before: i64,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO change_journal (key_id, slot, user_dn, pwd_last_set_before, step, started_at, updated_at)
             VALUES ($1, $2, $3, $4, 'started', $5, $6) RETURNING id",
        )
        .bind(key_id)
        .bind(i64::from(slot))
        .bind(user_dn)
        .bind(pwd_last_set_before)
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await
    }

    /// Takes pwdLastSet as read right before the directory write as the change's baseline.
    pub async fn journal_rebase(&self, id: i64, pwd_last_set_before: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE change_journal SET pwd_last_set_before = $1, started_at = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(pwd_last_set_before)
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    pub async fn journal_step(&self, id: i64, step: Step, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE change_journal SET step = $1, updated_at = $2 WHERE id = $3")
            .bind(step.label())
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Changes on this key that never reached `committed` or `aborted`, oldest first.
    pub async fn open_changes(&self, key_id: i64) -> Result<Vec<OpenChange>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, slot, user_dn, pwd_last_set_before, step, started_at FROM change_journal
             WHERE key_id = $1 AND step NOT IN ('committed', 'aborted') ORDER BY id",
        )
        .bind(key_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Every journal entry of a key, oldest first: (step, slot).
    pub async fn journal_of(&self, key_id: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as("SELECT step, slot FROM change_journal WHERE key_id = $1 ORDER BY id")
            .bind(key_id)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn create_sign_in_ticket(
        &self,
        ticket_hash: &str,
        key_id: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO key_sign_in_tickets (ticket_hash, key_id, expires_at) VALUES ($1, $2, $3)")
            .bind(ticket_hash)
            .bind(key_id)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Takes a ticket (once): the key it was issued to, if it has not expired.
    pub async fn redeem_sign_in_ticket(&self, ticket_hash: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "DELETE FROM key_sign_in_tickets WHERE ticket_hash = $1 AND expires_at > $2 RETURNING key_id",
        )
        .bind(ticket_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
    }
}
