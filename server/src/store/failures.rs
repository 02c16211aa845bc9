//! Wrong passwords per account within a window, shared by every replica.

use super::Store;

impl Store {
    /// Wrong passwords counted for `account` since `since`, and when the first of them was.
    pub async fn password_failures(&self, account: &str, since: i64) -> Result<(i64, i64), sqlx::Error> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, first_at FROM password_failures WHERE account = $1 AND first_at > $2")
                .bind(account)
                .bind(since)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.unwrap_or((0, 0)))
    }

    /// Counts a wrong password; a count older than `since` starts again at one.
    pub async fn count_password_failure(&self, account: &str, since: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO password_failures (account, failures, first_at) VALUES ($1, 1, $2)
             ON CONFLICT (account) DO UPDATE SET
             failures = CASE WHEN password_failures.first_at <= $3 THEN 1 ELSE password_failures.failures + 1 END,
             first_at = CASE WHEN password_failures.first_at <= $4 THEN $5 ELSE password_failures.first_at END",
        )
        .bind(account)
        .bind(now)
        .bind(since)
        .bind(since)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A right password: the directory zeroes badPwdCount, so does the portal.
    pub async fn clear_password_failures(&self, account: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM password_failures WHERE account = $1")
            .bind(account)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn failures_count_within_the_window_and_start_again_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("f.sqlite").display())).await.unwrap();
        let window = 900;
        for now in [1000, 1001, 1002] {
            store.count_password_failure("guid-a", now - window, now).await.unwrap();
        }
        assert_eq!(store.password_failures("guid-a", 1003 - window).await.unwrap(), (3, 1000));
        assert_eq!(store.password_failures("guid-b", 1003 - window).await.unwrap(), (0, 0), "per account");
        assert_eq!(store.password_failures("guid-a", 1000 + window).await.unwrap(), (0, 0), "the window passed");
        store.count_password_failure("guid-a", 2000 - window, 2000).await.unwrap();
        assert_eq!(store.password_failures("guid-a", 2001 - window).await.unwrap(), (1, 2000), "counted afresh");
        store.clear_password_failures("guid-a").await.unwrap();
        assert_eq!(store.password_failures("guid-a", 0).await.unwrap(), (0, 0));
    }
}
