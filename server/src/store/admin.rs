//! Administrators' second factor: TOTP secrets and one-time recovery codes (hashed).

use super::Store;

impl Store {
    /// The administrator's TOTP secret and whether it was confirmed.
    pub async fn totp(&self, username: &str) -> Result<Option<(Vec<u8>, bool)>, sqlx::Error> {
        let row: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT secret, confirmed FROM admin_totp WHERE username = $1")
                .bind(username.to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(secret, confirmed)| (secret, confirmed != 0)))
    }

    /// Starts (or restarts, while unconfirmed) an enrolment with `secret`.
    pub async fn begin_totp(&self, username: &str, secret: &[u8], now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO admin_totp (username, secret, confirmed, created_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT (username) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
             WHERE admin_totp.confirmed = 0",
        )
        .bind(username.to_lowercase())
        .bind(secret)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Confirms the enrolment and stores the recovery codes' hashes, replacing older ones.
    pub async fn confirm_totp(&self, username: &str, code_hashes: &[String]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE admin_totp SET confirmed = 1 WHERE username = $1").bind(username).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM admin_recovery_codes WHERE username = $1").bind(username).execute(&mut *tx).await?;
        for hash in code_hashes {
            sqlx::query("INSERT INTO admin_recovery_codes (username, code_hash) VALUES ($1, $2)")
                .bind(username.to_lowercase())
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Uses a recovery code (once); whether it was valid and unused.
    pub async fn use_recovery_code(&self, username: &str, code_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE admin_recovery_codes SET used_at = $1 WHERE username = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(username.to_lowercase())
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
