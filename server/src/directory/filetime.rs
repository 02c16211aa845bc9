//! Active Directory's time formats: FILETIME (100 ns ticks since 1601) for moments, negative
//! tick counts for durations.

const TICKS_PER_SEC: i64 = 10_000_000;
const SECS_1601_TO_1970: i64 = 11_644_473_600;
/// `msDS-UserPasswordExpiryTimeComputed` when the password never expires.
const NEVER: i64 = i64::MAX;

/// A FILETIME as Unix seconds; `None` for 0 ("must change") and "never".
pub fn to_unix(filetime: i64) -> Option<i64> {
    (filetime > 0 && filetime != NEVER).then(|| filetime / TICKS_PER_SEC - SECS_1601_TO_1970)
}

/// An AD duration (stored negative, e.g. maxPwdAge) in seconds; `None` for "never" (0 or the
/// most negative value).
pub fn duration_secs(ticks: i64) -> Option<u64> {
    if ticks == 0 || ticks == i64::MIN {
        return None;
    }
    Some(ticks.unsigned_abs() / TICKS_PER_SEC as u64)
}

/// Unix seconds as a FILETIME.
#[cfg(test)]
pub fn from_unix(secs: i64) -> i64 {
    (secs + SECS_1601_TO_1970) * TICKS_PER_SEC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_moments() {
        assert_eq!(to_unix(116_444_736_000_000_000), Some(0));
        assert_eq!(to_unix(from_unix(1_764_115_200)), Some(1_764_115_200));
        assert_eq!(to_unix(0), None);
        assert_eq!(to_unix(i64::MAX), None);
    }

    #[test]
    fn converts_durations() {
        assert_eq!(duration_secs(-36_288_000_000_000), Some(42 * 86_400));
        assert_eq!(duration_secs(-864_000_000_000), Some(86_400));
        assert_eq!(duration_secs(0), None);
        assert_eq!(duration_secs(i64::MIN), None);
    }
}
