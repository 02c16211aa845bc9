//! "Can't sign in?" with the key, over the relay and without a session: the key's channel
//! names its owner, a press on it is the possession factor, and a code from the authenticator
//! app is asked too when `recovery_factors` says so. Then either the lockout is cleared, or a
//! new password generated to the full policy is staged on the key, written by the service
//! account (minimum age and history do not apply to a random password), and committed —
//! journaled like a change, so a link lost halfway is finished or undone on the next connection.
//! The password is never shown; the user then signs in with the key.

use latchkey_api::recovery::{RecoveryAction, RecoveryFactors};
use latchkey_api::registry::KeyStatus;
use latchkey_api::relay::ProgressStep;
use latchkey_api::ErrorKind;
use latchkey_protocol::message::{Command, Secret};

use super::channel::{Channel, Failure};
use super::connect::Connected;
use super::flows::{abandon, press, progress, undo};
use super::generate;
use crate::identity::LoginKey;
use crate::service::access::{self, Target};
use crate::service::{deliveries, notices, second_factor};
use crate::session::ClientAddr;
use crate::state::AppState;
use crate::store::{Principal, Staging, Step};
use latchkey_api::key_refusal::KeyRefusal;

type Outcome = Result<String, Failure>;

pub async fn recover(
    ch: &mut Channel,
    state: &AppState,
    key: &Connected,
    action: RecoveryAction,
    code: Option<String>,
    addr: &ClientAddr,
) -> Outcome {
    if !state.config.recovery_with_key || key.key.status != KeyStatus::Active {
        return Err(Failure::from_kind(&ErrorKind::Forbidden));
    }
    let owner = key.key.employee.as_ref().ok_or_else(|| Failure::from_kind(&ErrorKind::NotAnEmployee))?;
    let employee = state
        .store
        .employee_by_guid(&owner.object_guid)
        .await?
        .ok_or_else(|| Failure::from_kind(&ErrorKind::NotAnEmployee))?;
    let target = access::recoverable(state, employee).await?;
    state.limits.attempt(&target.employee.username, addr.0).await?;
    if needs_code(state, &target.employee.username).await? {
        let code = code.ok_or_else(|| Failure::from_kind(&ErrorKind::SecondFactorRequired))?;
        second_factor::verify(state, &target.employee.username, &code).await?;
    }
    press(ch).await?;
    let directory = state.directory()?;
    match action {
        RecoveryAction::Unlock => {
            directory.unlock(&target.user.dn).await?;
            let notice = notices::Notice::UnlockedWithKey { serial: key.key.serial.clone() };
            notices::send(state, notices::Whose::Dn(&target.user.dn), notice, addr);
            Ok("Your account is unlocked: the password on your key works again.".into())
        }
        RecoveryAction::Reset => reset(ch, state, key, &target, addr).await,
    }
}

/// Whether a code from the authenticator is asked besides the key.
async fn needs_code(state: &AppState, username: &str) -> Result<bool, Failure> {
    Ok(match state.config.recovery_factors {
        RecoveryFactors::Key => false,
        RecoveryFactors::KeyAndTotp => true,
        RecoveryFactors::KeyAndTotpWhenEnrolled => state.store.totp_enrolled(&LoginKey::of(username)).await?,
    })
}

async fn reset(ch: &mut Channel, state: &AppState, key: &Connected, target: &Target, addr: &ClientAddr) -> Outcome {
    let Target { employee, user, facts } = target;
    // "User cannot change password" holds for a recovery too.
    if !facts.may_change {
        return Err(Failure::from_kind(&ErrorKind::NotPermitted));
    }
    // The account on the key that holds this directory password.
    let account = key
        .accounts
        .iter()
        .find(|l| l.account.directory_managed)
        .map(|l| l.account.id)
        .ok_or(Failure(KeyRefusal::NotDirectoryManaged))?;
    let new = generate::typed_or_generated(None, &facts.policy, &user.account(), &state.checker)
        .map_err(|e| Failure::from_kind(&e))?;
    let journal =
        state.store.journal_start(key.key.id, account, &user.dn, facts.password_last_set_ticks, state.now()).await?;
    progress(ch, ProgressStep::Storing).await?;
    match ch.call_one(Command::Stage { id: account, password: Secret::new(new.expose()) }).await? {
        Ok(_) => state.store.journal_step(journal, Step::Staged, state.now()).await?,
        Err(e) => return abandon(state, journal, Failure::key(e)).await,
    }
    // The employee's other keys get it sealed, staged before the write and confirmed after it.
    let staging = Staging {
        user_dn: user.dn.clone(),
        baseline: facts.password_last_set_ticks,
        by_reset: true,
        audit_action: None,
    };
    let secret = Secret::new(new.expose());
    let staged = match deliveries::stage_to_keys(state, employee.id, &secret, Some(key.key.id), &staging).await {
        Ok(staged) => staged,
        Err(e) => return undo(ch, state, journal, account, Failure::from_kind(&e.0)).await,
    };
    drop(secret);
    progress(ch, ProgressStep::Directory).await?;
    let directory = state.directory()?;
    if let Err(e) = directory.reset_password(&user.dn, &new, false).await {
        let failure = Failure::from(e);
        // No answer: pwdLastSet tells whether the DC applied it; a refusal is a refusal.
        let moved = directory
            .account_facts(&user.dn)
            .await
            .is_ok_and(|after| after.password_last_set_ticks != facts.password_last_set_ticks);
        if !moved {
            staged.discard(state).await;
            return undo(ch, state, journal, account, failure).await;
        }
    }
    state.store.journal_step(journal, Step::DirectoryChanged, state.now()).await?;
    // A reset does not clear a lockout by itself.
    if let Err(e) = directory.unlock(&user.dn).await {
        tracing::warn!(user = %employee.username, error = %e, "the lockout could not be cleared after a recovery");
    }
    drop(new);
    if let Err(e) = staged.confirm(state).await {
        tracing::error!(user = %employee.username, code = e.code(), "staged deliveries wait for the keys' next connection");
    }
    // Whoever held the old password is signed out everywhere.
    if let Err(e) = state.store.end_other_sessions(&Principal::Directory { dn: user.dn.clone() }, "").await {
        tracing::error!(user = %employee.username, error = %e, "the sessions could not be ended after a recovery");
    }
    progress(ch, ProgressStep::Committing).await?;
    match ch.call_and_list(Command::Commit { id: account }).await? {
        Ok(_) => state.store.journal_step(journal, Step::Committed, state.now()).await?,
        Err(e) => return Err(Failure::key(e)),
    }
    let notice = notices::Notice::RecoveredWithKey { serial: key.key.serial.clone() };
    notices::send(state, notices::Whose::Dn(&user.dn), notice, addr);
    Ok("A new password was set and your key holds it: sign in with your key.".into())
}
