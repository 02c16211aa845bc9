//! When a password may be changed and when it expires. Times are Unix seconds passed in by the
//! caller; nothing here reads a clock.

use crate::Policy;

/// The first moment a change is allowed, or `None` when it is allowed already at `now`.
pub fn earliest_change(policy: &Policy, password_last_set: Option<i64>, now: i64) -> Option<i64> {
    let last_set = password_last_set?;
    let allowed = last_set.saturating_add(i64::try_from(policy.min_age_secs).unwrap_or(i64::MAX));
    (allowed > now).then_some(allowed)
}

/// When the password expires under `policy`, or `None` when it never does or was never set.
pub fn expires_at(policy: &Policy, password_last_set: Option<i64>) -> Option<i64> {
    let max_age = i64::try_from(policy.max_age_secs?).ok()?;
    Some(password_last_set?.saturating_add(max_age))
}

/// Whole days from `now` until `at`, rounded down, never negative.
pub fn days_until(at: i64, now: i64) -> i64 {
    (at - now).max(0) / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min_age: u64, max_age: Option<u64>) -> Policy {
        Policy { min_age_secs: min_age, max_age_secs: max_age, ..Policy::nist() }
    }

    #[test]
    fn days_until_counts_whole_days_ahead_and_never_below_zero() {
        assert_eq!(days_until(10 * 86_400 + 5, 5), 10);
        assert_eq!(days_until(10 * 86_400 + 4, 5), 9, "rounded down");
        assert_eq!(days_until(5, 10 * 86_400), 0, "already past");
    }

    #[test]
    fn change_allowed_once_min_age_passed() {
        let p = policy(86_400, None);
        assert_eq!(earliest_change(&p, Some(1_000), 1_000), Some(87_400));
        assert_eq!(earliest_change(&p, Some(1_000), 87_400), None);
        assert_eq!(earliest_change(&p, None, 5), None, "never set: no minimum age applies");
        assert_eq!(earliest_change(&policy(0, None), Some(10), 10), None);
    }

    #[test]
    fn expiry_follows_max_age() {
        assert_eq!(expires_at(&policy(0, Some(100)), Some(50)), Some(150));
        assert_eq!(expires_at(&policy(0, None), Some(50)), None);
        assert_eq!(expires_at(&policy(0, Some(100)), None), None);
        assert_eq!(days_until(10 * 86_400 + 5, 0), 10);
        assert_eq!(days_until(0, 100), 0);
    }
}
