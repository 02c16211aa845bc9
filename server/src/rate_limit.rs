//! Operations per account and per client address, of any outcome, in this process: a bound on
//! how fast anyone can drive the portal. Wrong passwords are counted apart, in the store, by
//! the lockout guard (`service::lockout`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use latchkey_api::ErrorKind;

use crate::config::LimitsConfig;
use crate::error::AppError;

pub struct Limits {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Limits {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            let window = Duration::from_secs(config.window_secs.max(1));
            Quota::with_period(window / n.get()).map(|q| q.allow_burst(n)).unwrap_or_else(|| Quota::per_second(n))
        };
        Limits {
            per_account: RateLimiter::keyed(quota(config.operations_per_account)),
            per_address: RateLimiter::keyed(quota(config.per_address)),
        }
    }

    /// Forgets buckets that are full again (one per address or account ever seen otherwise).
    pub fn prune(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }

    /// Counts one attempt from `address` alone (nothing names an account yet).
    pub fn attempt_from(&self, address: Option<IpAddr>) -> Result<(), AppError> {
        let Some(address) = address else { return Ok(()) };
        let now = DefaultClock::default().now();
        self.per_address.check_key(&address).map_err(|n| {
            let wait = n.wait_time_from(now);
            AppError(ErrorKind::RateLimited { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) })
        })
    }

    /// Counts one attempt for `account` (case-insensitive) and `address`.
    pub fn attempt(&self, account: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = DefaultClock::default().now();
        let refuse = |wait: Duration| {
            AppError(ErrorKind::RateLimited { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) })
        };
        if let Some(address) = address {
            self.per_address.check_key(&address).map_err(|n| refuse(n.wait_time_from(now)))?;
        }
        self.per_account.check_key(&account.trim().to_lowercase()).map_err(|n| refuse(n.wait_time_from(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_quota_per_account_whatever_the_case() {
        let limits = Limits::new(&LimitsConfig {
            per_account: 1,
            per_address: 100,
            window_secs: 600,
            operations_per_account: 2,
        });
        assert!(limits.attempt("Alice", None).is_ok());
        assert!(limits.attempt("alice", None).is_ok());
        let err = limits.attempt("ALICE", None).unwrap_err();
        assert!(matches!(err.0, ErrorKind::RateLimited { retry_after_secs } if retry_after_secs > 0));
        assert!(limits.attempt("bob", None).is_ok());
    }

    #[test]
    fn refuses_after_the_quota_per_address() {
        let limits = Limits::new(&LimitsConfig {
            per_account: 100,
            per_address: 1,
            window_secs: 600,
            operations_per_account: 100,
        });
        let addr = IpAddr::from([10, 0, 0, 1]);
        assert!(limits.attempt("a", Some(addr)).is_ok());
        assert!(limits.attempt("b", Some(addr)).is_err());
        assert!(limits.attempt("c", Some(IpAddr::from([10, 0, 0, 2]))).is_ok());
    }
}
