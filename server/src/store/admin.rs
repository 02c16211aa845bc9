//! The second factor (administrators' and, for step-up, every user's): TOTP secrets (sealed by the server before they get here),
//! the last accepted time step, wrong-code counts, and one-time recovery codes (hashed).
//! Every query is keyed by [`LoginKey`], never by a name as typed.

use super::Store;
use crate::identity::LoginKey;

/// An administrator's TOTP enrolment as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TotpRow {
    /// Sealed by `ServerSecrets` (or, in rows older than sealing, the raw secret).
    pub secret: Vec<u8>,
    /// 0 or 1.
    pub confirmed: i64,
    /// The last time step (Unix seconds / 30) a code was accepted for.
    pub last_step: i64,
    pub failures: i64,
    /// Unix seconds; codes are refused until then.
    pub locked_until: i64,
}

impl Store {
    pub async fn totp(&self, who: &LoginKey) -> Result<Option<TotpRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT secret, confirmed, last_step, failures, locked_until FROM admin_totp WHERE username = $1",
        )
        .bind(who.as_str())
        .fetch_optional(&self.pool)
        .await
    }

    /// Whether the administrator has a confirmed authenticator.
    pub async fn totp_enrolled(&self, who: &LoginKey) -> Result<bool, sqlx::Error> {
        Ok(self.totp(who).await?.is_some_and(|t| t.confirmed != 0))
    }

    /// Starts (or restarts, while unconfirmed) an enrolment with a sealed secret.
    pub async fn begin_totp(&self, who: &LoginKey, sealed_secret: &[u8], now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO admin_totp (username, secret, confirmed, created_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT (username) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
             last_step = 0, failures = 0, locked_until = 0
             WHERE admin_totp.confirmed = 0",
        )
        .bind(who.as_str())
        .bind(sealed_secret)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Confirms the enrolment and stores the recovery codes' hashes, replacing older ones.
    /// Fails (`RowNotFound`) when there is no unconfirmed enrolment to confirm.
    pub async fn confirm_totp(&self, who: &LoginKey, code_hashes: &[String]) -> Result<(), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE admin_totp SET confirmed = 1 WHERE username = $1 AND confirmed = 0")
            .bind(who.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(sqlx::Error::RowNotFound);
        }
        sqlx::query("DELETE FROM admin_recovery_codes WHERE username = $1")
            .bind(who.as_str())
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query("INSERT INTO admin_recovery_codes (username, code_hash) VALUES ($1, $2)")
                .bind(who.as_str())
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Takes `step` as the last accepted one, only if it is later than the last: whether it was
    /// (a replayed code, here or on another replica, is not). Clears the wrong-code count.
    pub async fn accept_totp_step(&self, who: &LoginKey, step: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE admin_totp SET last_step = $1, failures = 0, locked_until = 0 WHERE username = $2 AND last_step < $3",
        )
        .bind(step)
        .bind(who.as_str())
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reserves a try (counted as wrong until a right code clears it), in one statement so that
    /// concurrent guesses are each counted; the `max`-th in a row locks codes until
    /// `now + lock_secs`. False when codes are locked now.
    pub async fn reserve_totp_try(
        &self,
        who: &LoginKey,
        max: i64,
        now: i64,
        lock_secs: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE admin_totp SET failures = failures + 1,
             locked_until = CASE WHEN failures + 1 >= $1 THEN $2 ELSE locked_until END
             WHERE username = $3 AND locked_until <= $4",
        )
        .bind(max)
        .bind(now + lock_secs)
        .bind(who.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A right recovery code ends a run of wrong codes as a right TOTP code does.
    pub async fn clear_totp_failures(&self, who: &LoginKey) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE admin_totp SET failures = 0, locked_until = 0 WHERE username = $1")
            .bind(who.as_str())
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Uses a recovery code (once); whether it was valid and unused.
    pub async fn use_recovery_code(&self, who: &LoginKey, code_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE admin_recovery_codes SET used_at = $1 WHERE username = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(who.as_str())
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records `check` on first use; whether the database was set up with this server secret.
    pub async fn matches_server_secret(&self, check: &str) -> Result<bool, sqlx::Error> {
        sqlx::query("INSERT INTO server_secret_check (id, check_value) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(check)
            .execute(&self.pool)
            .await?;
        let stored: String = sqlx::query_scalar("SELECT check_value FROM server_secret_check WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(stored == check)
    }

    /// Secrets stored before sealing: (name, raw secret).
    pub async fn unsealed_totp_secrets(&self) -> Result<Vec<(String, Vec<u8>)>, sqlx::Error> {
        let rows: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT username, secret FROM admin_totp").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().filter(|(_, s)| !crate::secrets::ServerSecrets::is_sealed(s)).collect())
    }

    pub async fn replace_totp_secret(&self, username: &str, sealed: &[u8]) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE admin_totp SET secret = $1 WHERE username = $2")
            .bind(sealed)
            .bind(username)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

impl Store {
    /// Forgets an enrolment and its recovery codes (an administrator's reset): whether there was one.
    pub async fn reset_totp(&self, who: &LoginKey) -> Result<bool, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM admin_recovery_codes WHERE username = $1")
            .bind(who.as_str())
            .execute(&mut *tx)
            .await?;
        let gone =
            sqlx::query("DELETE FROM admin_totp WHERE username = $1").bind(who.as_str()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(gone.rows_affected() == 1)
    }
}
