//! Who may do what, decided once.
//! - [`admit`]: whether a directory account may have a session now. Password sign-in and key
//!   sign-in both ask it, so a key never lets in someone a password would not.
//! - [`administrable`]: whether an administrator may act on an account (reset, flags, unlock):
//!   only synced employees, found again by objectGUID; never the portal's service account, a
//!   protected account (adminCount = 1) or, unless `admins_may_manage_admins`, an administrator.

use latchkey_api::ErrorKind;

use crate::directory::{AccountFacts, UserRef};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{EmployeeRow, Principal, SessionRow};

/// What the account's state says about a session, given its facts and its employee record.
pub fn session_verdict(facts: &AccountFacts, employee: Option<&EmployeeRow>, now: i64) -> Result<(), ErrorKind> {
    if facts.disabled {
        return Err(ErrorKind::Disabled);
    }
    if facts.account_expires_at.is_some_and(|at| at <= now) {
        return Err(ErrorKind::AccountExpired);
    }
    if facts.locked_out {
        return Err(ErrorKind::LockedOut);
    }
    // A synced employee who left the group, or was disabled there, is no longer the portal's.
    if employee.is_some_and(|e| e.removed_at.is_some() || e.disabled != 0) {
        return Err(ErrorKind::NotAnEmployee);
    }
    Ok(())
}

/// Reads the account's state and decides whether `user` may have a session; its facts.
pub async fn admit(state: &AppState, user: &UserRef) -> Result<AccountFacts, AppError> {
    let facts = state.directory()?.account_facts(&user.dn).await?;
    admit_with(state, user, &facts).await?;
    Ok(facts)
}

/// [`admit`], with the account's facts read already.
pub async fn admit_with(state: &AppState, user: &UserRef, facts: &AccountFacts) -> Result<(), AppError> {
    let employee = state.store.employee_by_guid(&user.object_guid).await?;
    session_verdict(facts, employee.as_ref(), state.now()).map_err(AppError)
}

/// How long an administrator's standing is trusted before it is checked again (it is checked
/// before every administrative write regardless).
pub const RECHECK_SECS: i64 = 300;

/// Whether the administrator of `session` still is one: still in the group (or a local
/// administrator), and the account still may have a session.
pub async fn still_admin(state: &AppState, session: &SessionRow) -> Result<(), AppError> {
    let principal = session.principal();
    if !is_administrator(state, &principal).await? {
        return Err(AppError(ErrorKind::Forbidden));
    }
    let Principal::Directory { dn } = principal else { return Ok(()) };
    let facts = state.directory()?.account_facts(&dn).await?;
    let employee = state.store.employee_by_guid(&facts.user.object_guid).await?;
    session_verdict(&facts, employee.as_ref(), state.now())?;
    Ok(())
}

/// Whether `principal` is an administrator: a portal-local administrator, or a member of the
/// administrators' group (nested groups included).
pub async fn is_administrator(state: &AppState, principal: &Principal) -> Result<bool, AppError> {
    match principal {
        Principal::Local { username } => {
            Ok(state.store.local_account(username).await?.is_some_and(|a| a.is_admin != 0))
        }
        Principal::Directory { dn } => match &state.config.admin_group {
            Some(group) => Ok(state.directory()?.is_member(dn, group).await?),
            None => Ok(false),
        },
    }
}

/// An account an administrator may act on.
pub struct Target {
    pub employee: EmployeeRow,
    pub user: UserRef,
    pub facts: AccountFacts,
}

/// The employee `username` names, if an administrator may act on them.
pub async fn administrable(state: &AppState, username: &str) -> Result<Target, AppError> {
    let employee = state.store.employee_named(username).await?.ok_or(AppError(ErrorKind::ProtectedAccount))?;
    if employee.removed_at.is_some() {
        return Err(AppError(ErrorKind::NotAnEmployee));
    }
    let Target { employee, user, facts } = unprotected(state, employee).await?;
    let directory = state.directory()?;
    if !state.config.admins_may_manage_admins {
        if let Some(group) = &state.config.admin_group {
            if directory.is_member(&user.dn, group).await? {
                return Err(AppError(ErrorKind::ProtectedAccount));
            }
        }
    }
    Ok(Target { employee, user, facts })
}

/// The employee an account recovery (`service::recovery`) may serve: synced, still in the group
/// and enabled there, an account that is neither disabled nor expired (a lockout or an expired
/// password is what recovery is for); never an administrator (another administrator recovers
/// them), the service account or a protected account.
pub async fn recoverable(state: &AppState, employee: EmployeeRow) -> Result<Target, AppError> {
    if employee.removed_at.is_some() || employee.disabled != 0 {
        return Err(AppError(ErrorKind::NotAnEmployee));
    }
    let Target { employee, user, facts } = unprotected(state, employee).await?;
    if is_administrator(state, &Principal::Directory { dn: user.dn.clone() }).await? {
        return Err(AppError(ErrorKind::ProtectedAccount));
    }
    if facts.disabled {
        return Err(AppError(ErrorKind::Disabled));
    }
    if facts.account_expires_at.is_some_and(|at| at <= state.now()) {
        return Err(AppError(ErrorKind::AccountExpired));
    }
    Ok(Target { employee, user, facts })
}

/// The employee's account, found again by objectGUID (a reused name never redirects an action
/// to someone else), unless it is protected (adminCount = 1) or the portal's service account.
async fn unprotected(state: &AppState, employee: EmployeeRow) -> Result<Target, AppError> {
    let directory = state.directory()?;
    let user = directory.find_by_guid(&employee.object_guid).await?.ok_or(AppError(ErrorKind::NotAnEmployee))?;
    let facts = directory.account_facts(&user.dn).await?;
    if facts.protected || is_service_account(state, &user, &facts) {
        return Err(AppError(ErrorKind::ProtectedAccount));
    }
    Ok(Target { employee, user, facts })
}

/// Whether `user` is the account the portal binds as (configured as a UPN, a DN or a name).
fn is_service_account(state: &AppState, user: &UserRef, facts: &AccountFacts) -> bool {
    let Some(directory) = &state.config.directory else { return false };
    let configured = directory.service_account.trim().to_lowercase();
    let mut names = vec![user.dn.to_lowercase(), user.sam_account_name.to_lowercase()];
    if let Some(upn) = &facts.user_principal_name {
        names.push(upn.to_lowercase());
    }
    names.contains(&configured)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> AccountFacts {
        AccountFacts::sample()
    }

    fn employee(disabled: bool, removed: bool) -> EmployeeRow {
        EmployeeRow {
            id: 1,
            object_guid: "00".into(),
            login_key: "a".into(),
            username: "a".into(),
            display_name: "A".into(),
            disabled: i64::from(disabled),
            removed_at: removed.then_some(5),
            keys: 1,
        }
    }

    #[test]
    fn a_session_is_refused_for_every_state_a_password_bind_refuses() {
        let now = 1_000;
        assert_eq!(session_verdict(&facts(), Some(&employee(false, false)), now), Ok(()));
        assert_eq!(session_verdict(&facts(), None, now), Ok(()), "never synced: the directory decides");
        let disabled = AccountFacts { disabled: true, ..facts() };
        assert_eq!(session_verdict(&disabled, None, now), Err(ErrorKind::Disabled));
        let expired = AccountFacts { account_expires_at: Some(now), ..facts() };
        assert_eq!(session_verdict(&expired, None, now), Err(ErrorKind::AccountExpired));
        let later = AccountFacts { account_expires_at: Some(now + 1), ..facts() };
        assert_eq!(session_verdict(&later, None, now), Ok(()));
        let locked = AccountFacts { locked_out: true, ..facts() };
        assert_eq!(session_verdict(&locked, None, now), Err(ErrorKind::LockedOut));
        assert_eq!(session_verdict(&facts(), Some(&employee(true, false)), now), Err(ErrorKind::NotAnEmployee));
        assert_eq!(session_verdict(&facts(), Some(&employee(false, true)), now), Err(ErrorKind::NotAnEmployee));
    }
}
