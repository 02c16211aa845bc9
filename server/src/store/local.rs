//! Portal-local accounts and the one-time bootstrap of the first administrator.

use super::Store;
use crate::identity::LoginKey;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LocalAccount {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_admin: i64,
    pub may_change: i64,
    pub must_change: i64,
}

impl Store {
    pub async fn local_account(&self, username: &str) -> Result<Option<LocalAccount>, sqlx::Error> {
        sqlx::query_as(
            "SELECT username, display_name, password_hash, is_admin, may_change, must_change
             FROM local_accounts WHERE login_key = $1",
        )
        .bind(LoginKey::of(username).as_str())
        .fetch_optional(&self.pool)
        .await
    }

    /// Whether the bootstrap is still open (never used); if so, replaces the token's hash.
    pub async fn offer_bootstrap(&self, token_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
        let used: Option<Option<i64>> =
            sqlx::query_scalar("SELECT used_at FROM bootstrap WHERE id = 1").fetch_optional(&self.pool).await?;
        if matches!(used, Some(Some(_))) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO bootstrap (id, token_hash, offered_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, offered_at = excluded.offered_at",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    /// Whether `token_hash` is the open bootstrap's token, offered after `offered_after`.
    pub async fn bootstrap_open(&self, token_hash: &str, offered_after: i64) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bootstrap WHERE id = 1 AND token_hash = $1 AND used_at IS NULL AND offered_at > $2",
        )
        .bind(token_hash)
        .bind(offered_after)
        .fetch_one(&self.pool)
        .await?;
        Ok(n == 1)
    }

    /// Uses the bootstrap token (once, if offered after `offered_after`) to create the first
    /// administrator; false when the token is wrong, expired or was used.
    pub async fn bootstrap_admin(
        &self,
        token_hash: &str,
        username: &str,
        display_name: &str,
        password_hash: &str,
        now: i64,
        offered_after: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let taken = sqlx::query(
            "UPDATE bootstrap SET used_at = $1, token_hash = NULL
             WHERE id = 1 AND token_hash = $2 AND used_at IS NULL AND offered_at > $3",
        )
        .bind(now)
        .bind(token_hash)
        .bind(offered_after)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO local_accounts (username, display_name, password_hash, is_admin, created_at, login_key)
             VALUES ($1, $2, $3, 1, $4, $5)",
        )
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(now)
        .bind(LoginKey::of(username).as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_local_password(&self, username: &str, password_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE local_accounts SET password_hash = $1, must_change = 0 WHERE login_key = $2")
            .bind(password_hash)
            .bind(LoginKey::of(username).as_str())
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Sets "may not change password" / "must change at next logon" on a local account;
    /// false when there is no such account.
    pub async fn set_local_flags(
        &self,
        username: &str,
        may_change: Option<bool>,
        must_change: Option<bool>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE local_accounts SET may_change = COALESCE($1, may_change), must_change = COALESCE($2, must_change)
             WHERE login_key = $3",
        )
        .bind(may_change.map(i64::from))
        .bind(must_change.map(i64::from))
        .bind(LoginKey::of(username).as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_bootstrap_token_works_once_within_its_hour() {
        for t in crate::store::testing::stores().await {
            let store = &t.store;
            assert!(store.offer_bootstrap("hash-1", 1000).await.unwrap(), "{}", t.engine);
            assert!(store.offer_bootstrap("hash-2", 1100).await.unwrap(), "a new start replaces the token");
            assert!(!store.bootstrap_open("hash-1", 0).await.unwrap(), "the replaced token");
            assert!(store.bootstrap_open("hash-2", 1000).await.unwrap());
            assert!(!store.bootstrap_open("hash-2", 1100).await.unwrap(), "expired");
            assert!(!store.bootstrap_admin("hash-2", "Admin", "A", "argon", 5000, 4900).await.unwrap(), "expired");
            assert!(store.bootstrap_admin("hash-2", "Admin", "A", "argon", 1200, 1000).await.unwrap());
            assert!(!store.bootstrap_admin("hash-2", "Other", "O", "argon", 1201, 1000).await.unwrap(), "once");
            assert!(!store.offer_bootstrap("hash-3", 1300).await.unwrap(), "never offered again");
            assert_eq!(store.local_account("ADMIN").await.unwrap().map(|a| a.is_admin), Some(1));
        }
    }
}
