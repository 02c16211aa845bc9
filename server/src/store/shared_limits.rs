//! What replicas share beyond their data: the one-session-per-key lease and the operation
//! counts behind the rate limits. Both are single statements, atomic on either engine.

use super::Store;

impl Store {
    /// Takes `serial`'s session lease for `holder` until `until`, when nobody else holds an
    /// unexpired one (the holder itself may renew): whether it got it.
    pub async fn take_key_lease(&self, serial: &str, holder: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
        let taken = sqlx::query(
            "INSERT INTO key_leases (serial, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (serial) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE key_leases.until <= $4 OR key_leases.holder = excluded.holder",
        )
        .bind(serial)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Gives the lease back, if this holder still has it.
    pub async fn release_key_lease(&self, serial: &str, holder: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM key_leases WHERE serial = $1 AND holder = $2")
            .bind(serial)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Takes the lease on writing `user_dn`'s password for `holder` until `until`, when nobody
    /// holds an unexpired one: whether it got it. Names are compared as the directory does
    /// (case-insensitively).
    pub async fn take_write_lease(
        &self,
        user_dn: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, sqlx::Error> {
        let taken = sqlx::query(
            "INSERT INTO write_leases (user_dn, holder, until) VALUES ($1, $2, $3) \
             ON CONFLICT (user_dn) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE write_leases.until <= $4",
        )
        .bind(user_dn.to_lowercase())
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Gives the write lease back, if this holder still has it.
    pub async fn release_write_lease(&self, user_dn: &str, holder: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM write_leases WHERE user_dn = $1 AND holder = $2")
            .bind(user_dn.to_lowercase())
            .bind(holder)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Counts one hit in `bucket`'s window starting at `window_start`: the window's count so far.
    pub async fn count_hit(&self, bucket: &str, window_start: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO rate_counts (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counts.hits + 1 RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await
    }

    /// Forgets windows that ended before `before`.
    pub async fn prune_rate_counts(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM rate_counts WHERE window_start < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::stores;

    #[tokio::test]
    async fn one_holder_per_key_until_it_lets_go_or_its_lease_runs_out() {
        for t in stores().await {
            let s = &t.store;
            assert!(s.take_key_lease("LK-1", "a", 100, 130).await.unwrap());
            assert!(!s.take_key_lease("LK-1", "b", 110, 140).await.unwrap(), "{}: held", t.engine);
            assert!(s.take_key_lease("LK-2", "b", 110, 140).await.unwrap(), "another key is free");
            assert!(s.take_key_lease("LK-1", "a", 120, 150).await.unwrap(), "the holder renews");
            assert!(!s.take_key_lease("LK-1", "b", 149, 180).await.unwrap(), "renewed: still held");
            assert!(s.take_key_lease("LK-1", "b", 150, 180).await.unwrap(), "{}: run out, taken over", t.engine);
            s.release_key_lease("LK-1", "a").await.unwrap();
            assert!(!s.take_key_lease("LK-1", "c", 160, 190).await.unwrap(), "only the holder lets go");
            s.release_key_lease("LK-1", "b").await.unwrap();
            assert!(s.take_key_lease("LK-1", "c", 160, 190).await.unwrap(), "{}: let go", t.engine);
        }
    }

    #[tokio::test]
    async fn one_writer_per_account_whatever_the_case_of_its_name() {
        for t in stores().await {
            let s = &t.store;
            let dn = "CN=Zoë Ärger,CN=Users,DC=example,DC=test";
            assert!(s.take_write_lease(dn, "a", 100, 130).await.unwrap());
            let shouted = "cn=ZOË ÄRGER,cn=users,dc=EXAMPLE,dc=test";
            assert!(!s.take_write_lease(shouted, "b", 110, 140).await.unwrap(), "{}: held", t.engine);
            assert!(s.take_write_lease("CN=Other,CN=Users,DC=example,DC=test", "b", 110, 140).await.unwrap());
            s.release_write_lease(dn, "b").await.unwrap();
            assert!(!s.take_write_lease(dn, "b", 120, 150).await.unwrap(), "only the holder lets go");
            s.release_write_lease(shouted, "a").await.unwrap();
            assert!(s.take_write_lease(dn, "b", 120, 150).await.unwrap(), "{}: let go", t.engine);
            assert!(s.take_write_lease(dn, "c", 150, 180).await.unwrap(), "{}: run out, taken over", t.engine);
        }
    }

    #[tokio::test]
    async fn hits_are_counted_per_bucket_and_window_and_old_windows_pruned() {
        for t in stores().await {
            let s = &t.store;
            assert_eq!(s.count_hit("account:zoë", 60).await.unwrap(), 1);
            assert_eq!(s.count_hit("account:zoë", 60).await.unwrap(), 2, "{}", t.engine);
            assert_eq!(s.count_hit("account:other", 60).await.unwrap(), 1);
            assert_eq!(s.count_hit("account:zoë", 120).await.unwrap(), 1, "a new window");
            assert_eq!(s.prune_rate_counts(120).await.unwrap(), 2);
            assert_eq!(s.count_hit("account:zoë", 120).await.unwrap(), 2, "the current window stays");
        }
    }
}
