//! The lockout guard: the portal never lets anyone lock an account through it.
//!
//! Every wrong password the portal sends to the directory costs the account a badPwdCount; at
//! the lockout threshold of the account's effective policy (a fine-grained one's when it
//! applies) the account locks. So each try is reserved in the store before the password goes
//! to the directory — one statement, so concurrent guesses on any replica are each counted —
//! per account (its objectGUID: the logon name and the UPN are one account), within the longer
//! of `limits.window_secs` and the directory's observation window. Once an account has used
//! `allowed` tries the portal stops asking the directory. `allowed` is `limits.per_account`,
//! clamped below the threshold. A right password clears the count, as the directory clears
//! badPwdCount; a try the directory never judged is given back. When the rule cannot be read,
//! nothing is sent. Portal-local accounts are counted the same way (no directory threshold).

use latchkey_api::{ErrorKind, Password};

use crate::directory::{AccountFacts, DirectoryError, SignIn, UserRef};
use crate::error::AppError;
use crate::identity::LoginKey;
use crate::state::AppState;

/// Whose wrong passwords are counted together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account(String);

impl Account {
    pub fn of(user: &UserRef) -> Account {
        if user.object_guid.is_empty() {
            return Account::unknown(&user.sam_account_name);
        }
        Account(format!("guid:{}", user.object_guid))
    }

    /// A name no directory account has: `name` and `name@anything` are one bucket, as they
    /// would be for a real account, so the guard does not tell which names exist.
    pub fn unknown(name: &str) -> Account {
        let key = LoginKey::of(name);
        let local_part = key.as_str().split('@').next().unwrap_or_default();
        Account(format!("name:{local_part}"))
    }

    /// A portal-local account.
    pub fn local(name: &str) -> Account {
        Account(format!("portal:{}", LoginKey::of(name)))
    }
}

/// The directory's lockout rule for an account, and what it counted already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Wrong passwords that lock the account (0: it never locks).
    pub threshold: u32,
    pub window_secs: u64,
    /// Wrong passwords the directory counted within its window (badPwdCount).
    pub counted: u32,
}

/// When the account's fine-grained policy cannot be read, its threshold is unknown: allow this
/// many tries at most, over at least the default window.
const UNREADABLE_POLICY_THRESHOLD: u32 = 3;

impl Rule {
    pub fn of(facts: &AccountFacts, now: i64) -> Rule {
        let window_secs = facts.lockout_window_secs;
        let recent = facts.bad_password_at.is_some_and(|at| now - at < window_secs as i64);
        let counted = if recent { facts.bad_password_count } else { 0 };
        let mut rule = Rule { threshold: facts.policy.lockout_threshold, window_secs, counted };
        if matches!(facts.policy_source, latchkey_api::PolicySource::FineGrainedUnreadable { .. }) {
            let threshold = match rule.threshold {
                0 => UNREADABLE_POLICY_THRESHOLD,
                t => t.min(UNREADABLE_POLICY_THRESHOLD),
            };
            rule = Rule {
                threshold,
                window_secs: window_secs.max(crate::directory::DEFAULT_LOCKOUT_WINDOW_SECS),
                counted,
            };
        }
        rule
    }

    /// Portal-local accounts: only the configured limit.
    pub const LOCAL: Rule = Rule { threshold: 0, window_secs: 0, counted: 0 };
}

/// Wrong passwords allowed per window: the configured number, below the lockout threshold.
pub fn allowed(configured: u32, threshold: u32) -> u32 {
    let configured = configured.max(1);
    if threshold == 0 {
        return configured;
    }
    let below = threshold.saturating_sub(1).max(1);
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if configured > below && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            configured,
            threshold,
            "limits.per_account is at or above the directory's lockout threshold: {below} wrong passwords are allowed"
        );
    }
    configured.min(below)
}

/// Tries reserved for a password about to be sent; [`settle`] them with the directory's answer.
#[must_use]
pub struct Try {
    accounts: Vec<Account>,
}

/// Reserves a try on each of `accounts` (a real account is counted under its objectGUID and
/// under the name as typed, as an unknown name would be, so the two cannot be told apart), or
/// refuses when any has used its tries, or when the directory itself counted as many.
pub async fn reserve(state: &AppState, accounts: &[Account], rule: Rule) -> Result<Try, AppError> {
    let limits = &state.config.limits;
    let window = limits.window_secs.max(rule.window_secs).max(1) as i64;
    let allowed = i64::from(allowed(limits.per_account, rule.threshold));
    let now = state.now();
    let mut reserved = Try { accounts: Vec::new() };
    let mut refused = None;
    for account in accounts {
        let (tries, last_at) = state.store.reserve_password_try(&account.0, now - window, now, allowed).await?;
        reserved.accounts.push(account.clone());
        if tries > allowed {
            refused = Some((last_at + window - now).max(1));
        }
    }
    // The directory's own count (another application's wrong passwords count too).
    if rule.threshold > 0 && i64::from(rule.counted) >= allowed.min(i64::from(rule.threshold) - 1).max(1) {
        refused = Some(refused.unwrap_or(window));
    }
    if let Some(retry_after) = refused {
        settle(state, reserved, None).await?;
        return Err(AppError(ErrorKind::RateLimited { retry_after_secs: retry_after as u64 }));
    }
    Ok(reserved)
}

/// A right password clears the counts; a wrong one keeps its tries; a refusal that did not
/// judge the password gives them back.
pub async fn settle(state: &AppState, attempt: Try, right: Option<bool>) -> Result<(), AppError> {
    for account in &attempt.accounts {
        match right {
            Some(true) => state.store.clear_password_failures(&account.0).await?,
            Some(false) => {}
            None => state.store.release_password_try(&account.0).await?,
        }
    }
    Ok(())
}

/// What a directory answer says of the password: right, wrong (or maybe wrong: no answer is
/// counted as wrong, the DC may have counted it), or not judged.
pub fn judged<T>(outcome: &Result<T, DirectoryError>) -> Option<bool> {
    match outcome {
        Ok(_) | Err(DirectoryError::MustChange | DirectoryError::Expired) => Some(true),
        Err(
            DirectoryError::InvalidCredentials
            | DirectoryError::WrongCurrentPassword
            | DirectoryError::Unavailable(_)
            | DirectoryError::Unexpected { .. },
        ) => Some(false),
        // Disabled, locked, expired account, a refused new password: the password was not
        // what the DC refused.
        Err(_) => None,
    }
}

/// A sign-in's bind, guarded: the account found by name, its facts read (the rule comes with
/// them, and they decide the session), a try reserved, one bind, the try settled.
/// How long real names' wrong passwords took to refuse (the DC records a bad password, which
/// a name nobody has does not cost): a refusal for an unknown name is held until as long as one
/// of them, drawn at random, has passed, so both follow the same distribution and the answer's
/// timing does not tell which names exist.
#[derive(Default)]
pub struct RefusalPace {
    recent: std::sync::Mutex<std::collections::VecDeque<std::time::Duration>>,
}

/// How many recent refusals the pace draws from.
const PACE_SAMPLES: usize = 64;
/// No refusal is held longer than this, whatever was measured.
const PACE_CAP: std::time::Duration = std::time::Duration::from_secs(2);

impl RefusalPace {
    fn record(&self, took: std::time::Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == PACE_SAMPLES {
            recent.pop_front();
        }
        recent.push_back(took.min(PACE_CAP));
    }

    /// One of the recent durations, at random; none before any was measured.
    fn draw(&self) -> Option<std::time::Duration> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        (!recent.is_empty()).then(|| recent[rand::random_range(0..recent.len())])
    }

    async fn hold(&self, since: std::time::Instant) {
        if let Some(left) = self.draw().and_then(|d| d.checked_sub(since.elapsed())) {
            tokio::time::sleep(left).await;
        }
    }
}

pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &Password,
) -> Result<(SignIn, AccountFacts), AppError> {
    let directory = state.directory()?;
    // An empty password would be an anonymous bind: refused alike for every name, unsent.
    if password.is_empty() {
        return Err(AppError(ErrorKind::InvalidCredentials));
    }
    // No logon name is that long (sAMAccountName 20, a UPN 1024 bytes at most).
    let plausible = !username.trim().is_empty() && username.len() <= 1024;
    let started = std::time::Instant::now();
    let found = if plausible { directory.find_user(username).await? } else { None };
    let Some(user) = found else {
        // Read the way a user's facts are (the service account's own), so an unknown name
        // costs what a known one does. Whatever that read answers, the name is refused alike.
        let rule = match directory.decoy_facts().await {
            Ok(decoy) => Rule { counted: 0, ..Rule::of(&decoy, state.now()) },
            Err(e) => {
                tracing::warn!(error = %e, "the service account's own facts could not be read");
                let window_secs = crate::directory::DEFAULT_LOCKOUT_WINDOW_SECS;
                Rule { threshold: UNREADABLE_POLICY_THRESHOLD, window_secs, counted: 0 }
            }
        };
        let attempt = reserve(state, &[Account::unknown(username)], rule).await?;
        let _ = directory.refuse_unknown(password).await;
        settle(state, attempt, Some(false)).await?;
        state.refusal_pace.hold(started).await;
        return Err(AppError(ErrorKind::InvalidCredentials));
    };
    let facts = directory.account_facts(&user.dn).await?;
    // Locked already: said so, and no password is sent (it could only be refused).
    if facts.locked_out {
        return Err(AppError(ErrorKind::LockedOut));
    }
    let accounts = [Account::of(&user), Account::unknown(username)];
    let attempt = reserve(state, &accounts, Rule::of(&facts, state.now())).await?;
    let bound = directory.bind_user(&user, password).await;
    settle(state, attempt, judged(&bound)).await?;
    if matches!(bound, Err(crate::directory::DirectoryError::InvalidCredentials)) {
        state.refusal_pace.record(started.elapsed());
    }
    Ok((SignIn { user, change_required: bound? }, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_name_is_held_as_long_as_a_real_refusal_drawn_at_random() {
        use std::time::{Duration, Instant};
        let pace = RefusalPace::default();
        let start = Instant::now();
        pace.hold(start).await;
        assert!(start.elapsed() < Duration::from_millis(20), "nothing measured: no wait");
        pace.record(Duration::from_secs(60));
        assert_eq!(pace.draw(), Some(PACE_CAP), "an outlier is capped");
        for ms in [40, 80] {
            pace.record(Duration::from_millis(ms));
        }
        let drawn: std::collections::HashSet<_> = (0..200).filter_map(|_| pace.draw()).collect();
        assert_eq!(drawn.len(), 3, "every recent duration is drawn sometimes: {drawn:?}");
        for _ in 0..PACE_SAMPLES {
            pace.record(Duration::from_millis(30));
        }
        assert_eq!(pace.draw(), Some(Duration::from_millis(30)), "only the recent ones count");
        let start = Instant::now();
        pace.hold(start).await;
        assert!(start.elapsed() >= Duration::from_millis(30), "held until as long has passed");
    }

    #[test]
    fn the_allowance_stays_below_the_lockout_threshold() {
        assert_eq!(allowed(5, 0), 5, "no lockout: as configured");
        assert_eq!(allowed(5, 10), 5);
        assert_eq!(allowed(5, 5), 4, "the default would have locked the test domain's accounts");
        assert_eq!(allowed(50, 3), 2);
        assert_eq!(allowed(3, 1), 1, "a threshold of one still lets one try through");
        assert_eq!(allowed(0, 5), 1);
    }

    #[test]
    fn the_name_and_the_upn_of_one_account_are_one_bucket() {
        let user = |name: &str| UserRef {
            dn: "CN=a".into(),
            sam_account_name: name.into(),
            display_name: String::new(),
            object_guid: "0011".into(),
        };
        assert_eq!(Account::of(&user("alice")), Account::of(&user("alice@example.test")));
        assert_eq!(Account::unknown("Zoë"), Account::unknown("ZOË@example.test"), "unknown names alike");
        assert_ne!(Account::unknown("0011"), Account::of(&user("x")));
        assert_ne!(Account::local("admin"), Account::unknown("admin"));
    }

    #[test]
    fn only_the_directorys_verdict_on_the_password_counts() {
        assert_eq!(judged::<()>(&Ok(())), Some(true));
        assert_eq!(judged::<()>(&Err(DirectoryError::MustChange)), Some(true));
        assert_eq!(judged::<()>(&Err(DirectoryError::InvalidCredentials)), Some(false));
        assert_eq!(judged::<()>(&Err(DirectoryError::WrongCurrentPassword)), Some(false));
        assert_eq!(judged::<()>(&Err(DirectoryError::Unavailable("down".into()))), Some(false), "maybe counted");
        assert_eq!(judged::<()>(&Err(DirectoryError::LockedOut)), None);
        assert_eq!(judged::<()>(&Err(DirectoryError::PolicyRefused)), None);
    }
}
