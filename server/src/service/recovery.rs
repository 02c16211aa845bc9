//! "Can't sign in?" without the key: two factors the user holds apart from the password — a
//! code from their authenticator app and a one-time code mailed to their recovery address (the
//! directory attribute `recovery_mail_attribute`, never the mailbox they may be locked out of
//! unless configured so) — then a password they type, checked against the policy and written
//! by the service account. Their keys are not sent it: a lost key must not receive the new
//! password; each key takes it again by onboarding.
//!
//! Anti-abuse: `start` answers the same, at once, whatever the name (the lookup and the mail
//! happen afterwards, in the background); `complete` refuses every failure before the codes
//! are both right with the same `wrong_code`. Both are limited per account and per address.
//! Mailed codes: 8 digits, single use, ten minutes, five tries.

use latchkey_api::recovery::{RecoveryComplete, RecoveryStarted};
use latchkey_api::ErrorKind;
use rand::Rng;

use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::identity::LoginKey;
use crate::service::access::{self, Target};
use crate::service::{audit, notices, second_factor};
use crate::state::AppState;
use crate::store::{CodeCheck, MailKind, Principal};

const CODE_SECS: i64 = 10 * 60;
pub const STARTED: &str =
    "If the account can be recovered this way, a code is on its way to its recovery address. It works for ten minutes.";

pub async fn start(state: &AppState, username: &str, addr: &ClientAddr) -> Result<RecoveryStarted, AppError> {
    if !state.config.recovery_without_key {
        return Err(AppError(ErrorKind::Forbidden));
    }
    state.limits.attempt(username.trim(), addr.0).await?;
    let (state, username, addr) = (state.clone(), username.trim().to_string(), ClientAddr(addr.0));
    tokio::spawn(async move {
        let outcome = send_code(&state, &username).await;
        if let Err(e) = &outcome {
            tracing::info!(user = %username, code = e.code(), "no recovery code sent");
        }
        audit::record(&state, &username, audit::action::RECOVERY_CODE, &username, &outcome, &addr).await;
    });
    Ok(RecoveryStarted { message: STARTED.into() })
}

/// The employee recovery without the key may serve, with their authenticator enrolled.
async fn target(state: &AppState, username: &str) -> Result<Target, AppError> {
    let employee = state.store.employee_named(username).await?.ok_or(AppError(ErrorKind::NotAnEmployee))?;
    let target = access::recoverable(state, employee).await?;
    if !state.store.totp_enrolled(&LoginKey::of(&target.employee.username)).await? {
        return Err(AppError(ErrorKind::NoSecondFactor { help_contact: state.config.help_contact.clone() }));
    }
    Ok(target)
}

async fn send_code(state: &AppState, username: &str) -> Result<(), AppError> {
    let target = target(state, username).await?;
    let attribute = &state.config.recovery_mail_attribute;
    let to = state.directory()?.attribute(&target.user.dn, attribute).await?.ok_or(AppError(ErrorKind::NotFound))?;
    let code = format!("{:08}", rand::rng().random_range(0..100_000_000u32));
    let who = LoginKey::of(&target.employee.username);
    state.store.put_recovery_code(&who, &state.secrets.code_hash(&code), state.now() + CODE_SECS).await?;
    let rendered = super::mail::wording(state).recovery_code(target.user.greeting_name(), &code);
    super::mail::queue(state, MailKind::Code, &to, &rendered, None).await?;
    Ok(())
}

/// Every refusal of `complete` before both codes are right takes at least this long, so that
/// an unknown name (refused at once) and a real one (looked up in the directory) look alike.
const REFUSAL_FLOOR: std::time::Duration = std::time::Duration::from_millis(400);

/// Both codes, then the new password. Until both codes are right every refusal is
/// `wrong_code`, and takes `REFUSAL_FLOOR` at least.
pub async fn complete(state: &AppState, request: &RecoveryComplete, addr: &ClientAddr) -> Result<(), AppError> {
    let started = tokio::time::Instant::now();
    let outcome = check_codes(state, request, addr).await;
    if outcome.is_err() {
        tokio::time::sleep_until(started + REFUSAL_FLOOR).await;
    }
    set_password(state, request, addr, outcome?).await
}

/// The account, once both codes proved its owner.
async fn check_codes(state: &AppState, request: &RecoveryComplete, addr: &ClientAddr) -> Result<Target, AppError> {
    if !state.config.recovery_without_key {
        return Err(AppError(ErrorKind::Forbidden));
    }
    let username = request.username.trim();
    state.limits.attempt(username, addr.0).await?;
    let wrong = || AppError(ErrorKind::WrongCode);
    // Whatever the reason (no such name, not recoverable, the directory away), the answer is one.
    let target = target(state, username).await.map_err(|_| wrong())?;
    let who = LoginKey::of(&target.employee.username);
    let mail_code = request.mail_code.trim();
    // Checked, not taken: a password the policy refuses must not cost the mailed code.
    let hash = state.secrets.code_hash(mail_code);
    if state.store.check_recovery_code(&who, &hash, state.now()).await? != CodeCheck::Good {
        return Err(wrong());
    }
    second_factor::verify(state, &target.employee.username, &request.totp_code).await.map_err(|e| match e.0 {
        ErrorKind::RateLimited { .. } => e,
        _ => wrong(),
    })?;
    Ok(target)
}

async fn set_password(
    state: &AppState,
    request: &RecoveryComplete,
    addr: &ClientAddr,
    target: Target,
) -> Result<(), AppError> {
    let Target { employee, user, facts } = &target;
    if !facts.may_change {
        return Err(AppError(ErrorKind::NotPermitted));
    }
    state.checker.require(request.new_password.expose(), None, &facts.policy, &user.account()).map_err(AppError)?;
    // Now the code is spent, once: a completion racing with this one finds it gone.
    let hash = state.secrets.code_hash(request.mail_code.trim());
    if !state.store.drop_recovery_code(&LoginKey::of(&employee.username), &hash).await? {
        return Err(AppError(ErrorKind::WrongCode));
    }
    let directory = state.directory()?;
    directory.reset_password(&user.dn, &request.new_password, false).await?;
    if let Err(e) = directory.unlock(&user.dn).await {
        tracing::warn!(user = %employee.username, error = %e, "the lockout could not be cleared after a recovery");
    }
    if let Err(e) = state.store.end_other_sessions(&Principal::Directory { dn: user.dn.clone() }, "").await {
        tracing::error!(user = %employee.username, error = %e, "the sessions could not be ended after a recovery");
    }
    if state.config.review_recoveries {
        state.store.request_review(employee.id, state.now()).await?;
    }
    notices::send(state, notices::Whose::Dn(&user.dn), notices::Notice::RecoveredWithoutKey, addr);
    Ok(())
}
