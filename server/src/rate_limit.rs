//! Operations per account and per client address, of any outcome, counted in the store so that
//! every replica shares one count: a bound on how fast anyone can drive the portal. Wrong
//! passwords are counted apart, also in the store, by the lockout guard (`service::lockout`).
//! Windows are fixed (`window_secs` long): at a window's edge up to twice the quota can pass in
//! one window's time, never more.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use latchkey_api::ErrorKind;

use crate::config::LimitsConfig;
use crate::error::AppError;
use crate::identity::LoginKey;
use crate::state::unix_now as now;
use crate::store::Store;

pub struct Limits {
    store: Store,
    per_account: i64,
    per_address: i64,
    window_secs: i64,
    /// Buckets this process saw over their quota, with the end of that window: refused again
    /// without a write to the store, so a flood costs the store one write per bucket and window.
    over: Mutex<HashMap<String, i64>>,
}

/// Longer names are cut for counting (sign-in refuses them anyway): a bucket stays small.
const MAX_BUCKET_NAME: usize = 256;

impl Limits {
    pub fn new(config: &LimitsConfig, store: Store) -> Limits {
        Limits {
            store,
            per_account: i64::from(config.operations_per_account.max(1)),
            per_address: i64::from(config.per_address.max(1)),
            window_secs: i64::try_from(config.window_secs.max(1)).unwrap_or(i64::MAX),
            over: Mutex::default(),
        }
    }

    /// Forgets windows that are over (one row per account and address seen otherwise).
    pub async fn prune(&self) {
        let now = now();
        self.over.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, until| *until > now);
        let before = now - self.window_secs;
        if let Err(e) = self.store.prune_rate_counts(before).await {
            tracing::warn!(error = %e, "cannot prune the operation counts");
        }
    }

    /// Counts one attempt from `address` alone (nothing names an account yet).
    pub async fn attempt_from(&self, address: Option<IpAddr>) -> Result<(), AppError> {
        let Some(address) = address else { return Ok(()) };
        self.hit(&address_bucket(address), self.per_address, now()).await
    }

    /// Counts one attempt for `account` (compared as the directory compares names) and
    /// `address`.
    pub async fn attempt(&self, account: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = now();
        if let Some(address) = address {
            self.hit(&address_bucket(address), self.per_address, now).await?;
        }
        let name: String = LoginKey::of(account).as_str().chars().take(MAX_BUCKET_NAME).collect();
        self.hit(&format!("account:{name}"), self.per_account, now).await
    }

    async fn hit(&self, bucket: &str, quota: i64, now: i64) -> Result<(), AppError> {
        let window_start = now - now.rem_euclid(self.window_secs);
        let window_end = window_start + self.window_secs;
        let refused = || {
            let retry_after_secs = u64::try_from(window_end - now).unwrap_or(1).max(1);
            AppError(ErrorKind::RateLimited { retry_after_secs })
        };
        if self.over.lock().unwrap_or_else(|e| e.into_inner()).get(bucket).is_some_and(|until| *until > now) {
            return Err(refused());
        }
        let hits = self.store.count_hit(bucket, window_start).await?;
        if hits > quota {
            self.over.lock().unwrap_or_else(|e| e.into_inner()).insert(bucket.to_string(), window_end);
            return Err(refused());
        }
        Ok(())
    }
}

/// An address's bucket: IPv4 (and IPv4 written as IPv6) by address, IPv6 by its /64, which
/// one subscriber usually holds whole.
fn address_bucket(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => format!("address:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    fn limits(store: &Store, per_account: u32, per_address: u32) -> Limits {
        let config =
            LimitsConfig { per_account: 100, per_address, window_secs: 600, operations_per_account: per_account };
        Limits::new(&config, store.clone())
    }

    #[tokio::test]
    async fn refuses_after_the_quota_per_account_whatever_the_case() {
        for t in stores().await {
            let limits = limits(&t.store, 2, 100);
            assert!(limits.attempt("Zoë", None).await.is_ok());
            assert!(limits.attempt("zoë", None).await.is_ok());
            let err = limits.attempt("ZOË", None).await.unwrap_err();
            assert!(
                matches!(err.0, ErrorKind::RateLimited { retry_after_secs } if retry_after_secs > 0),
                "{}",
                t.engine
            );
            assert!(limits.attempt("bob", None).await.is_ok());
        }
    }

    #[tokio::test]
    async fn refuses_after_the_quota_per_address_and_replicas_share_the_count() {
        for t in stores().await {
            // Two replicas: two `Limits` on one store.
            let (a, b) = (limits(&t.store, 100, 2), limits(&t.store, 100, 2));
            let addr = IpAddr::from([10, 0, 0, 1]);
            assert!(a.attempt("a", Some(addr)).await.is_ok());
            assert!(b.attempt_from(Some(addr)).await.is_ok());
            assert!(a.attempt("c", Some(addr)).await.is_err(), "{}: the third from one address", t.engine);
            assert!(b.attempt("c", Some(IpAddr::from([10, 0, 0, 2]))).await.is_ok());
        }
    }

    #[tokio::test]
    async fn an_ipv6_subscriber_counts_as_one_address_and_a_mapped_ipv4_as_itself() {
        for t in stores().await {
            let limits = limits(&t.store, 100, 2);
            let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
            let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
            let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
            assert!(limits.attempt_from(Some(one)).await.is_ok());
            assert!(limits.attempt_from(Some(same_64)).await.is_ok());
            assert!(limits.attempt_from(Some(one)).await.is_err(), "{}: the third from one /64", t.engine);
            assert!(limits.attempt_from(Some(other_64)).await.is_ok(), "another /64");
            let v4: IpAddr = "192.0.2.7".parse().unwrap();
            let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
            assert!(limits.attempt_from(Some(v4)).await.is_ok());
            assert!(limits.attempt_from(Some(mapped)).await.is_ok());
            assert!(limits.attempt_from(Some(v4)).await.is_err(), "the mapped form is the same address");
        }
    }

    #[tokio::test]
    async fn a_bucket_over_its_quota_is_refused_without_writing_again() {
        for t in stores().await {
            let limits = limits(&t.store, 1, 100);
            assert!(limits.attempt("zoë", None).await.is_ok());
            assert!(limits.attempt("zoë", None).await.is_err());
            let window_start = now() - now().rem_euclid(600);
            let counted = t.store.count_hit("account:zoë", window_start).await.unwrap();
            assert!(limits.attempt("Zoë", None).await.is_err());
            assert!(limits.attempt("ZOË", None).await.is_err());
            let after = t.store.count_hit("account:zoë", window_start).await.unwrap();
            assert_eq!(after, counted + 1, "{}: the refusals in between wrote nothing", t.engine);
            let long = "x".repeat(5_000);
            assert!(limits.attempt(&long, None).await.is_ok(), "a long name is counted, cut short");
        }
    }
}
