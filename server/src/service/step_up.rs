//! Step-up: the owner confirms it is them right before a password is written, with a code from
//! their authenticator app or (in `key_or_totp`) a press on their own active key. The session
//! then holds one confirmation for `STEP_UP_SECS`; the write takes it, so it serves one
//! operation. A write that the directory or the key then refuses gives it back: a refusal for
//! the password's history is not a reason to ask for another code.
//!
//! Who never had a factor may enrol an authenticator without one (trust on first use; the owner
//! is told by mail), except, when `allow_enrolment_at_change` is off, a user whose change is
//! required. Who has a key out of service (reported lost, locked) may not: a password alone
//! must not trade the owner's key for an authenticator of its holder's — an administrator's reset
//! of the authenticator allows it for a day. In a session the key started, the key is not also the
//! second factor when an authenticator is enrolled: that one is asked.

use latchkey_api::registry::KeyStatus;
use latchkey_api::step_up::{SecondFactorMode, StepUpStatus, STEP_UP_SECS};
use latchkey_api::ErrorKind;

use crate::error::AppError;
use crate::identity::LoginKey;
use crate::service::second_factor;
use crate::state::AppState;
use crate::store::SessionRow;

/// The factors a user holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    /// An active key assigned to them, and the mode lets it confirm in this session.
    pub key: bool,
    /// A key of theirs was taken out of service, and no administrator allowed an enrolment
    /// since.
    pub enrolment_needs_admin: bool,
}

impl Factors {
    pub fn any(self) -> bool {
        self.totp || self.key
    }
}

/// What a write found: nothing needed, a confirmation taken (given back on a refusal), or
/// (key flows only) a press on the key still to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    NotNeeded,
    Held { until: i64 },
    PressOnKey,
}

pub async fn factors(state: &AppState, row: &SessionRow) -> Result<Factors, AppError> {
    let totp = state.store.totp_enrolled(&LoginKey::of(&row.username)).await?;
    let (active_key, enrolment_needs_admin) = keys(state, row).await?;
    // A session the key started has used the key already, when there is another factor.
    let key_may_confirm = row.with_key == 0 || !totp;
    let key = state.config.second_factor == SecondFactorMode::KeyOrTotp && active_key && key_may_confirm;
    Ok(Factors { totp, key, enrolment_needs_admin })
}

/// Whether the user holds an active key, and whether a first enrolment needs an administrator
/// (a key of theirs is out of service — lost, stolen, locked — and no administrator allowed one
/// since).
async fn keys(state: &AppState, row: &SessionRow) -> Result<(bool, bool), AppError> {
    if row.principal().is_local() {
        return Ok((false, false));
    }
    let Some(employee) = state.store.employee_by_username(&row.username).await? else { return Ok((false, false)) };
    let keys = state.store.keys_of(employee.id).await?;
    let allowed = state.store.enrolment_allowed_until(employee.id).await?.is_some_and(|until| until >= state.now());
    let active = keys.iter().any(|k| k.status == KeyStatus::Active);
    let out_of_service = keys.iter().any(|k| !matches!(k.status, KeyStatus::Active | KeyStatus::Reserved));
    Ok((active, out_of_service && !allowed))
}

/// Whether an authenticator may be enrolled now without confirming with another factor first.
pub fn may_enrol(state: &AppState, row: &SessionRow, factors: Factors) -> bool {
    !factors.any()
        && !factors.enrolment_needs_admin
        && (row.change_required.is_none() || state.config.allow_enrolment_at_change)
}

pub async fn status(state: &AppState, row: &SessionRow) -> Result<StepUpStatus, AppError> {
    let factors = factors(state, row).await?;
    Ok(StepUpStatus {
        mode: state.config.second_factor,
        totp_enrolled: factors.totp,
        key_confirms: factors.key,
        confirmed_until: state.store.step_up_until(&row.token_hash, state.now()).await?,
        may_enrol: may_enrol(state, row, factors),
        help_contact: state.config.help_contact.clone(),
    })
}

/// A confirmation, held by the session from now.
pub async fn grant(state: &AppState, row: &SessionRow) -> Result<i64, AppError> {
    let until = state.now() + STEP_UP_SECS;
    state.store.grant_step_up(&row.token_hash, until).await?;
    Ok(until)
}

/// A code from the user's authenticator (or a recovery code) confirms them.
pub async fn confirm_with_code(state: &AppState, row: &SessionRow, code: &str) -> Result<i64, AppError> {
    if !state.store.totp_enrolled(&LoginKey::of(&row.username)).await? {
        return Err(AppError(ErrorKind::Forbidden));
    }
    second_factor::verify(state, &row.username, code).await?;
    grant(state, row).await
}

/// Takes the session's confirmation for a password write on the password page.
pub async fn take(state: &AppState, row: &SessionRow) -> Result<Taken, AppError> {
    take_for(state, row, false).await
}

/// The same for a key flow on the user's own active key: in `key_or_totp`, a press on it
/// confirms when no confirmation is held.
pub async fn take_in_key_flow(state: &AppState, row: &SessionRow) -> Result<Taken, AppError> {
    take_for(state, row, true).await
}

async fn take_for(state: &AppState, row: &SessionRow, own_key_at_hand: bool) -> Result<Taken, AppError> {
    let mode = state.config.second_factor;
    if mode == SecondFactorMode::Off {
        return Ok(Taken::NotNeeded);
    }
    if let Some(until) = state.store.take_step_up(&row.token_hash, state.now()).await? {
        return Ok(Taken::Held { until });
    }
    let factors = factors(state, row).await?;
    if own_key_at_hand && factors.key {
        return Ok(Taken::PressOnKey);
    }
    if !factors.any() && !may_enrol(state, row, factors) {
        return Err(AppError(ErrorKind::NoSecondFactor { help_contact: state.config.help_contact.clone() }));
    }
    Err(AppError(ErrorKind::StepUpRequired))
}

/// A write the directory or the key refused before anything was written: the confirmation it
/// took serves the next try. Anything else (no answer, an error after a write) keeps it spent.
pub fn refused_before_writing(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::WrongCurrentPassword
            | ErrorKind::ChangeInProgress
            | ErrorKind::InvalidCredentials
            | ErrorKind::TooYoung { .. }
            | ErrorKind::TooShort { .. }
            | ErrorKind::NotComplex
            | ErrorKind::InHistory
            | ErrorKind::SameAsCurrent
            | ErrorKind::PolicyViolation { .. }
            | ErrorKind::RejectedByDirectory
            | ErrorKind::ConfirmationMismatch
            | ErrorKind::NotPermitted
            | ErrorKind::LockedOut
            | ErrorKind::RateLimited { .. }
            | ErrorKind::BadRequest { .. }
    )
}

/// Gives a taken confirmation back (see [`refused_before_writing`]).
pub async fn give_back(state: &AppState, row: &SessionRow, taken: Taken) {
    if let Taken::Held { until } = taken {
        if until >= state.now() {
            if let Err(e) = state.store.grant_step_up(&row.token_hash, until).await {
                tracing::warn!(error = %e, "a confirmation could not be given back");
            }
        }
    }
}
