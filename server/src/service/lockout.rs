//! The lockout guard: the portal never lets anyone lock an account through it.
//!
//! Every wrong password the portal sends to the directory costs the account a badPwdCount; at
//! the directory's lockoutThreshold the account locks. So wrong passwords are counted per
//! account (its objectGUID: the logon name and the UPN are one account) in the store, shared by
//! replicas, and once an account has had `allowed` of them within the window the portal stops
//! asking the directory until the window has passed. `allowed` is the configured
//! `limits.per_account`, clamped below the threshold. A right password clears the count, as
//! the directory clears badPwdCount. Successful operations are bounded elsewhere, generously.

use latchkey_api::{ChangeReason, ErrorKind, Password};

use crate::directory::{DirectoryError, SignIn, UserRef};
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

    /// A name no directory account has (still counted, so guessing costs the same).
    pub fn unknown(name: &str) -> Account {
        Account(format!("name:{}", LoginKey::of(name)))
    }
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

fn window(state: &AppState) -> i64 {
    state.config.limits.window_secs.max(1) as i64
}

/// Refuses before asking the directory when the account has had its wrong passwords.
pub async fn check(state: &AppState, account: &Account) -> Result<(), AppError> {
    let threshold = state.directory()?.lockout_threshold().await.unwrap_or(0);
    let allowed = i64::from(allowed(state.config.limits.per_account, threshold));
    let now = state.now();
    let (failures, first_at) = state.store.password_failures(&account.0, now - window(state)).await?;
    if failures >= allowed {
        let retry_after_secs = (first_at + window(state) - now).max(1) as u64;
        return Err(AppError(ErrorKind::RateLimited { retry_after_secs }));
    }
    Ok(())
}

/// Counts the outcome of one bind with a password the user gave.
pub async fn record<T>(
    state: &AppState,
    account: &Account,
    outcome: &Result<T, DirectoryError>,
) -> Result<(), AppError> {
    match outcome {
        Ok(_) => state.store.clear_password_failures(&account.0).await?,
        Err(DirectoryError::InvalidCredentials | DirectoryError::WrongCurrentPassword) => {
            let now = state.now();
            state.store.count_password_failure(&account.0, now - window(state), now).await?
        }
        Err(_) => {}
    }
    Ok(())
}

/// A sign-in's bind, guarded: found by name, checked against the guard, bound, counted.
pub async fn authenticate(state: &AppState, username: &str, password: &Password) -> Result<SignIn, AppError> {
    let directory = state.directory()?;
    // No logon name is that long (sAMAccountName 20, a UPN 1024 bytes at most).
    let plausible = !username.trim().is_empty() && username.len() <= 1024;
    let found = if plausible { directory.find_user(username).await? } else { None };
    let Some(user) = found else {
        let account = Account::unknown(username);
        check(state, &account).await?;
        let refused: Result<(), DirectoryError> = Err(directory.refuse_unknown(password).await);
        record(state, &account, &refused).await?;
        return Err(AppError(ErrorKind::InvalidCredentials));
    };
    let account = Account::of(&user);
    check(state, &account).await?;
    let bound: Result<Option<ChangeReason>, DirectoryError> = directory.bind_user(&user, password).await;
    record(state, &account, &bound).await?;
    Ok(SignIn { user, change_required: bound? })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(Account::unknown("Zoë"), Account::unknown("ZOË"));
        assert_ne!(Account::unknown("0011"), Account::of(&user("x")));
    }
}
