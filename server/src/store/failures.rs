//! Wrong passwords per account within a window, shared by every replica. A try is reserved
//! (counted) before the password goes to the directory, in one statement, so concurrent guesses
//! cannot all slip under the limit; a right password clears the count, and a try the directory
//! never judged (it did not answer) is given back.

use super::Store;

impl Store {
    /// Counts one more try for `account` (a count whose last try is before `since` starts again
    /// at one, as the directory's does); the count now and its last counted try. A try over
    /// `allowed` does not move the last try: refused tries do not extend the window.
    pub async fn reserve_password_try(
        &self,
        account: &str,
        since: i64,
        now: i64,
        allowed: i64,
    ) -> Result<(i64, i64), sqlx::Error> {
        sqlx::query_as(
            "INSERT INTO password_failures (account, failures, first_at, last_at) VALUES ($1, 1, $2, $2)
             ON CONFLICT (account) DO UPDATE SET
             failures = CASE WHEN password_failures.last_at <= $3 THEN 1 ELSE password_failures.failures + 1 END,
             first_at = CASE WHEN password_failures.last_at <= $3 THEN $2 ELSE password_failures.first_at END,
             last_at = CASE WHEN password_failures.last_at <= $3 OR password_failures.failures + 1 <= $4 THEN $2
                       ELSE password_failures.last_at END
             RETURNING failures, last_at",
        )
        .bind(account)
        .bind(now)
        .bind(since)
        .bind(allowed)
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

    /// Forgets counts whose last try was before `since` (one row per name ever tried).
    pub async fn prune_password_failures(&self, since: i64) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM password_failures WHERE last_at <= $1").bind(since).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn the_window_runs_from_the_last_try_as_the_directorys_does() {
        for t in crate::store::testing::stores().await {
            window(&t.store).await;
        }
    }

    async fn window(store: &Store) {
        let (window, allowed) = (900, 4);
        let reserve = |now: i64| store.reserve_password_try("guid-a", now - window, now, allowed);
        assert_eq!(reserve(1000).await.unwrap(), (1, 1000));
        // Three more just before the first's window ends, one just after: still counted.
        for (now, n) in [(1890, 2), (1895, 3), (1899, 4)] {
            assert_eq!(reserve(now).await.unwrap(), (n, now));
        }
        assert_eq!(reserve(1901).await.unwrap(), (5, 1899), "over the allowance: the last try stays");
        store.release_password_try("guid-a").await.unwrap();
        assert_eq!(reserve(1899 + window + 1).await.unwrap(), (1, 1899 + window + 1), "a window after the last");
        assert_eq!(store.reserve_password_try("guid-b", 0, 5, allowed).await.unwrap(), (1, 5), "per account");
        store.clear_password_failures("guid-a").await.unwrap();
        assert_eq!(store.prune_password_failures(100).await.unwrap(), 1, "guid-b's last try is old");
    }

    #[tokio::test]
    async fn concurrent_tries_are_each_counted() {
        for t in crate::store::testing::stores().await {
            concurrent(&t.store).await;
        }
    }

    async fn concurrent(store: &Store) {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.reserve_password_try("guid-a", 0, 100, 4).await })
            })
            .collect();
        let mut counts = Vec::new();
        for h in handles {
            counts.push(h.await.unwrap().unwrap().0);
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=20).collect::<Vec<_>>(), "every concurrent try got its own count");
    }
}
