//! Wrong passwords per account within a window, shared by every replica. A try is reserved
//! (counted) before the password goes to the directory, in one statement, so concurrent guesses
//! cannot all slip under the limit; a right password clears the count, and a try the directory
//! never judged (it did not answer) is given back.

use super::Store;

impl Store {
    /// Counts one more try for `account` (a count from before `since` starts again at one);
    /// the count now and when its window began.
    pub async fn reserve_password_try(&self, account: &str, since: i64, now: i64) -> Result<(i64, i64), sqlx::Error> {
        sqlx::query_as(
            "INSERT INTO password_failures (account, failures, first_at) VALUES ($1, 1, $2)
             ON CONFLICT (account) DO UPDATE SET
             failures = CASE WHEN password_failures.first_at <= $3 THEN 1 ELSE password_failures.failures + 1 END,
             first_at = CASE WHEN password_failures.first_at <= $4 THEN $5 ELSE password_failures.first_at END
             RETURNING failures, first_at",
        )
        .bind(account)
        .bind(now)
        .bind(since)
        .bind(since)
        .bind(now)
        .fetch_one(&self.pool)
        .await
    }

    /// Gives back a reserved try (refused before the directory judged it).
    pub async fn release_password_try(&self, account: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE password_failures SET failures = failures - 1 WHERE account = $1 AND failures > 0")
            .bind(account)
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

    /// Forgets counts whose window ended before `since` (one row per name ever tried).
    pub async fn prune_password_failures(&self, since: i64) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM password_failures WHERE first_at <= $1").bind(since).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn tries_count_within_the_window_and_start_again_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("f.sqlite").display())).await.unwrap();
        let window = 900;
        for (now, expected) in [(1000, 1), (1001, 2), (1002, 3)] {
            assert_eq!(store.reserve_password_try("guid-a", now - window, now).await.unwrap(), (expected, 1000));
        }
        assert_eq!(store.reserve_password_try("guid-b", 1003 - window, 1003).await.unwrap(), (1, 1003), "per account");
        store.release_password_try("guid-a").await.unwrap();
        assert_eq!(store.reserve_password_try("guid-a", 1004 - window, 1004).await.unwrap(), (3, 1000), "given back");
        let later = 1000 + window;
        assert_eq!(store.reserve_password_try("guid-a", later - window, later).await.unwrap(), (1, later), "afresh");
        store.clear_password_failures("guid-a").await.unwrap();
        assert_eq!(store.reserve_password_try("guid-a", 0, 5000).await.unwrap(), (1, 5000));
        assert_eq!(store.prune_password_failures(4000).await.unwrap(), 1, "guid-b's window ended");
    }

    #[tokio::test]
    async fn concurrent_tries_are_each_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("f.sqlite").display())).await.unwrap();
        let tries = (0..20).map(|_| {
            let store = store.clone();
            async move { store.reserve_password_try("guid-a", 0, 100).await }
        });
        let mut counts: Vec<i64> = futures_counts(tries).await;
        counts.sort_unstable();
        assert_eq!(counts, (1..=20).collect::<Vec<_>>(), "every concurrent try got its own count");
    }

    async fn futures_counts<F>(tries: impl Iterator<Item = F>) -> Vec<i64>
    where
        F: std::future::Future<Output = Result<(i64, i64), sqlx::Error>> + Send + 'static,
    {
        let handles: Vec<_> = tries.map(tokio::spawn).collect();
        let mut counts = Vec::new();
        for h in handles {
            counts.push(h.await.unwrap().unwrap().0);
        }
        counts
    }
}
