//! Phrases for moments relative to now (Unix seconds in, words out; no clock read here).

/// "today", "tomorrow", "in 12 days", "2 days ago".
pub fn relative(at: i64, now: i64) -> String {
    let days = (at - now).div_euclid(86_400);
    match days {
        0 if at >= now => "today".into(),
        1 => "tomorrow".into(),
        d if d > 1 => format!("in {d} days"),
        -1 => "yesterday".into(),
        d => format!("{} days ago", -d),
    }
}

/// "just now", "3 min ago", "5 h ago" for a moment within the last day; `None` otherwise (the
/// caller shows the date).
pub fn ago(at: i64, now: i64) -> Option<String> {
    match now - at {
        -59..=59 => Some("just now".into()),
        60..=3599 => Some(format!("{} min ago", (now - at) / 60)),
        3600..=86_399 => Some(format!("{} h ago", (now - at) / 3600)),
        _ => None,
    }
}

/// "in 3 minutes" style wording for short waits (minimum password age in seconds or minutes).
pub fn wait(at: i64, now: i64) -> String {
    let secs = (at - now).max(0);
    match secs {
        0..=59 => format!("in {secs} seconds"),
        60..=3599 => format!("in {} minutes", (secs + 59) / 60),
        3600..=86_399 => format!("in {} hours", (secs + 3599) / 3600),
        _ => relative(at, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_moments_read_as_ago_and_older_ones_as_dates() {
        let now = 1_000_000;
        assert_eq!(ago(now - 5, now).as_deref(), Some("just now"));
        assert_eq!(ago(now - 60, now).as_deref(), Some("1 min ago"));
        assert_eq!(ago(now - 3599, now).as_deref(), Some("59 min ago"));
        assert_eq!(ago(now - 3600, now).as_deref(), Some("1 h ago"));
        assert_eq!(ago(now - 86_399, now).as_deref(), Some("23 h ago"));
        assert_eq!(ago(now - 86_400, now), None, "a day old: a date");
        assert_eq!(ago(now + 120, now), None, "the future: a date");
    }

    #[test]
    fn words_for_days() {
        assert_eq!(relative(100, 100), "today");
        assert_eq!(relative(86_400 + 5, 0), "tomorrow");
        assert_eq!(relative(12 * 86_400, 0), "in 12 days");
        assert_eq!(relative(0, 2 * 86_400), "2 days ago");
        assert_eq!(relative(0, 86_400), "yesterday");
    }

    #[test]
    fn words_for_waits() {
        assert_eq!(wait(30, 0), "in 30 seconds");
        assert_eq!(wait(61, 0), "in 2 minutes");
        assert_eq!(wait(3601, 0), "in 2 hours");
        assert_eq!(wait(0, 10), "in 0 seconds");
    }
}
