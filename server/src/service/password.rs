//! Password changes, the domain's part: a portal-local account's own change, and a change in
//! the directory with the user's own rights (the policy and the minimum age checked first, the
//! lockout guard around the write), shared by the password page and the key flows.

use latchkey_api::{ErrorKind, Password, PolicySource};
use latchkey_policy::{timing, CategorySet, Mode, Policy};
use latchkey_protocol::message::Secret;

use crate::directory::{AccountFacts, BindAs, Connecting, DirectoryError};
use crate::error::AppError;
use crate::keys::generate;
use crate::local;
use crate::service::{access, changed, lockout};
use crate::state::AppState;
use crate::store::Staging;
use crate::strength::Screened;

/// A portal-local account's own change: the current password proves it, the account's flag
/// may forbid it, Latchkey's policy judges the new one.
pub async fn change_local(
    state: &AppState,
    row: &crate::store::SessionRow,
    current: &Password,
    new: &Password,
) -> Result<(), AppError> {
    let account = state.store.local_account(&row.username).await?.ok_or(AppError(ErrorKind::Unauthenticated))?;
    if account.may_change == 0 {
        return Err(AppError(ErrorKind::NotPermitted));
    }
    let attempt = lockout::reserve(state, &[lockout::Account::local(&row.username)], lockout::Rule::LOCAL).await?;
    let right = local::verify(&account.password_hash, current);
    lockout::settle(state, attempt, Some(right)).await?;
    if !right {
        return Err(AppError(ErrorKind::WrongCurrentPassword));
    }
    local::check(state, &account.username, &account.display_name, new, Some(current.expose()))?;
    state.store.set_local_password(&account.username, &local::hash(new)?).await?;
    Ok(())
}

/// Changes the password in the directory with the user's own rights (delete old + add new: the
/// DC checks the old password, history and minimum age), once [`check_change`] passed it.
/// Shared by the password page and the key flows.
pub async fn change_in_directory(
    state: &AppState,
    facts: &AccountFacts,
    current: &Password,
    new: &Password,
    session_requires_change: bool,
    checked: Checked,
) -> Result<(), AppError> {
    let directory = state.directory()?;
    let now = state.now();
    let bind_as = bind_as(facts, session_requires_change);
    // Open before the lockout guard counts a try: a DC that cannot be reached was sent nothing.
    let opened = match (bind_as, checked.ahead) {
        (BindAs::User, Some(ahead)) => Some(ahead.ready().await?),
        _ => None,
    };
    // A wrong current password costs a badPwdCount: the lockout guard counts it.
    let attempt =
        lockout::reserve(state, &[lockout::Account::of(&facts.user)], lockout::Rule::of(facts, state.now())).await?;
    let mut outcome = directory.change_password(&facts.user, current, new, bind_as, opened).await;
    if matches!(outcome, Err(DirectoryError::MustChange | DirectoryError::Expired)) {
        // The bind proved the password right but refused it for use: change as the service
        // account (the modify checks the old password once more, correctly).
        outcome = directory.change_password(&facts.user, current, new, BindAs::Service, None).await;
    }
    lockout::settle(state, attempt, lockout::judged(&outcome)).await?;
    outcome.map_err(|e| refine(e, facts, now, current.expose(), new.expose()))
}

/// Proof that [`check_change`] passed: [`change_in_directory`] takes it, so no flow writes a
/// password the checks did not see, and none pays for them twice. With the user's connection,
/// when [`prepare_change`] opened one.
pub struct Checked {
    ahead: Option<Connecting>,
}

/// The account's facts and [`check_change`]'s verdict, reached with the waits overlapped: the
/// directory read, the blocklist's search (zxcvbn, on a blocking thread) and the TCP and TLS
/// handshakes of the connection the user's bind will take all start at once.
pub async fn prepare_change(
    state: &AppState,
    dn: &str,
    current: &Password,
    new: &Password,
    session_requires_change: bool,
) -> Result<(AccountFacts, Checked), AppError> {
    let directory = state.directory()?;
    // A change the session requires is made as the service account: no user bind to open for.
    let ahead = if session_requires_change { None } else { directory.connect_ahead() };
    let screening = {
        let (state, new) = (state.clone(), new.clone());
        tokio::task::spawn_blocking(move || state.checker.screen(new.expose()))
    };
    let (facts, screened) = tokio::join!(directory.account_facts(dn), screening);
    let facts = facts?;
    // A screening that did not finish leaves the search to the check.
    let screened = screened.ok();
    check_screened(state, &facts, current, new, screened.as_ref())?;
    // Opened for nothing when the account turns out to need the service account's change:
    // `change_in_directory` decides, and drops it unused.
    Ok((facts, Checked { ahead }))
}

/// Who binds for a change: users who must change cannot bind, so the service account does (its
/// modify still proves the old password).
fn bind_as(facts: &AccountFacts, session_requires_change: bool) -> BindAs {
    if facts.change_required || session_requires_change {
        BindAs::Service
    } else {
        BindAs::User
    }
}

/// What refuses a change before anything is sent or staged: the account's flags, the policy
/// (the blocklist included) and the minimum age. Asked before a flow stages the keys' copies,
/// so a refused password stages nothing.
pub fn check_change(
    state: &AppState,
    facts: &AccountFacts,
    current: &Password,
    new: &Password,
) -> Result<Checked, AppError> {
    check_screened(state, facts, current, new, None)?;
    Ok(Checked { ahead: None })
}

fn check_screened(
    state: &AppState,
    facts: &AccountFacts,
    current: &Password,
    new: &Password,
    screened: Option<&Screened>,
) -> Result<(), AppError> {
    if !facts.may_change {
        return Err(AppError(ErrorKind::NotPermitted));
    }
    if facts.locked_out {
        return Err(AppError(ErrorKind::LockedOut));
    }
    if current.is_empty() {
        return Err(AppError(ErrorKind::WrongCurrentPassword));
    }
    state
        .checker
        .require_screened(new.expose(), Some(current.expose()), &facts.policy, &facts.user.account(), screened)
        .map_err(AppError)?;
    if let Some(allowed_at) = earliest_change(facts, state.now()) {
        return Err(AppError(ErrorKind::TooYoung { allowed_at: Some(allowed_at) }));
    }
    Ok(())
}

/// An administrator's reset of the target's password, typed or generated: checked against the
/// policy and the minimum age (the DC enforces neither history nor minimum age on a reset),
/// written with Replace, then sealed to each of the employee's keys. A generated password
/// nobody sees must reach a key, or nobody could sign in. The serials it was queued for.
pub async fn reset_by_administrator(
    state: &AppState,
    target: &access::Target,
    typed: Option<Password>,
    must_change: bool,
) -> Result<Vec<String>, AppError> {
    let directory = state.directory()?;
    let access::Target { employee, user, facts } = target;
    if let Some(allowed_at) = earliest_change(facts, state.now()) {
        return Err(AppError(ErrorKind::TooYoung { allowed_at: Some(allowed_at) }));
    }
    if typed.is_none() && state.store.delivery_targets(employee.id).await?.is_empty() {
        return Err(AppError(ErrorKind::NoActiveKey));
    }
    let new = generate::typed_or_generated(typed, &facts.policy, &user.account(), &state.checker).map_err(AppError)?;
    // Sealed to the keys before the write: a generated password nobody sees is never in the
    // directory without being on its way to a key (a crash in between leaves it staged, for
    // the key's next connection to settle by pwdLastSet).
    let secret = Secret::new(new.expose());
    let staging = Staging {
        user_dn: user.dn.clone(),
        baseline: facts.password_last_set_ticks,
        by_reset: true,
        audit_action: Some("admin_reset"),
    };
    let staged = changed::stage(state, Some(employee.id), &secret, None, &staging).await?;
    drop(secret);
    match directory.reset_password(&user.dn, &new, must_change).await {
        Ok(()) => {}
        // No answer: the DC may have applied it; the key's next connection settles it.
        Err(e @ DirectoryError::Unavailable(_)) => {
            std::mem::drop(staged);
            return Err(e.into());
        }
        Err(e) => {
            staged.drop(state).await?;
            return Err(e.into());
        }
    }
    drop(new);
    Ok(changed::reset(state, &employee.username, &user.dn, staged).await)
}

pub(crate) fn earliest_change(facts: &AccountFacts, now: i64) -> Option<i64> {
    if facts.change_required {
        return None;
    }
    timing::earliest_change(&facts.policy, facts.password_last_set, now)
}

fn refine(e: DirectoryError, facts: &AccountFacts, now: i64, current: &str, new: &str) -> AppError {
    match e {
        DirectoryError::PolicyRefused => AppError(classify_refusal(facts, now, current, new)),
        other => AppError::from(other),
    }
}

/// The DC refused the new password for a policy reason (`0000052D`) and names it only in
/// English prose. Work out which rule from what is known, in the DC's own order of checks:
/// minimum age, length, complexity, history.
pub fn classify_refusal(facts: &AccountFacts, now: i64, current: &str, new: &str) -> ErrorKind {
    let policy: &Policy = &facts.policy;
    let known = !matches!(facts.policy_source, PolicySource::FineGrainedUnreadable { .. });
    if !known {
        return ErrorKind::RejectedByDirectory;
    }
    if let Some(allowed_at) = earliest_change(facts, now) {
        return ErrorKind::TooYoung { allowed_at: Some(allowed_at) };
    }
    if (new.encode_utf16().count() as u32) < policy.min_length {
        return ErrorKind::TooShort { min_length: policy.min_length };
    }
    if policy.mode == Mode::ActiveDirectory && policy.complexity && CategorySet::of(new).len() < 3 {
        return ErrorKind::NotComplex;
    }
    if new == current {
        return ErrorKind::SameAsCurrent;
    }
    if policy.history_length > 0 {
        ErrorKind::InHistory
    } else {
        ErrorKind::RejectedByDirectory
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(source: PolicySource, last_set: Option<i64>) -> AccountFacts {
        AccountFacts {
            policy: Policy {
                mode: Mode::ActiveDirectory,
                min_length: 10,
                complexity: true,
                history_length: 5,
                min_age_secs: 3600,
                max_age_secs: None,
                lockout_threshold: 5,
            },
            policy_source: source,
            password_last_set: last_set,
            password_last_set_ticks: 0,
            ..AccountFacts::sample()
        }
    }

    #[test]
    fn classifies_in_the_dcs_order() {
        let f = facts(PolicySource::Domain, Some(1000));
        assert_eq!(classify_refusal(&f, 2000, "a", "short"), ErrorKind::TooYoung { allowed_at: Some(4600) });
        assert_eq!(classify_refusal(&f, 9000, "a", "short"), ErrorKind::TooShort { min_length: 10 });
        assert_eq!(classify_refusal(&f, 9000, "a", "alllowercase"), ErrorKind::NotComplex);
        assert_eq!(classify_refusal(&f, 9000, "Same-Pass-1", "Same-Pass-1"), ErrorKind::SameAsCurrent);
        assert_eq!(classify_refusal(&f, 9000, "a", "Fresh-Pass-1"), ErrorKind::InHistory);
    }

    #[test]
    fn unreadable_policy_is_not_guessed() {
        let f = facts(PolicySource::FineGrainedUnreadable { name: "p".into() }, Some(1000));
        assert_eq!(classify_refusal(&f, 9000, "a", "Fresh-Pass-1"), ErrorKind::RejectedByDirectory);
    }
}
