//! An employee's own keys: listing them, and reporting one lost or stolen. A reported key is
//! compromised at once (reason lost or stolen): it reaches no flow, gets no delivery, is wiped
//! when it next connects, and administrators see it on their dashboard.
//!
//! Reporting takes a key out of service, so it asks the session's confirmation only of a user
//! who has a factor other than the key being reported (an authenticator app): the one whose
//! only factor is the lost key could not give one, and must still be able to report it.

use latchkey_api::recovery::OwnKey;
use latchkey_api::registry::{KeyStatus, StatusReason};
use latchkey_api::step_up::SecondFactorMode;
use latchkey_api::ErrorKind;

use crate::error::AppError;
use crate::identity::LoginKey;
use crate::service::step_up;
use crate::state::AppState;
use crate::store::{KeyRow, SessionRow};

pub async fn list(state: &AppState, row: &SessionRow) -> Result<Vec<OwnKey>, AppError> {
    Ok(own(state, row)
        .await?
        .into_iter()
        .map(|k| OwnKey { serial: k.serial, status: k.status, status_reason: k.status_reason })
        .collect())
}

async fn own(state: &AppState, row: &SessionRow) -> Result<Vec<KeyRow>, AppError> {
    if row.principal().is_local() {
        return Ok(Vec::new());
    }
    let Some(employee) = state.store.employee_by_username(&row.username).await? else { return Ok(Vec::new()) };
    Ok(state.store.keys_of(employee.id).await?)
}

/// Reports the session's own key `serial` lost or stolen; the key as it is now.
pub async fn report(state: &AppState, row: &SessionRow, serial: &str, reason: &str) -> Result<KeyRow, AppError> {
    if !state.config.report_lost_key {
        return Err(AppError(ErrorKind::Forbidden));
    }
    let reason = match reason.trim() {
        "lost" => StatusReason::Lost,
        "stolen" => StatusReason::Stolen,
        _ => return Err(AppError(ErrorKind::UnknownReason)),
    };
    // Someone else's serial reads as no key at all.
    let key = own(state, row)
        .await?
        .into_iter()
        .find(|k| k.serial.eq_ignore_ascii_case(serial.trim()))
        .ok_or(AppError(ErrorKind::NotFound))?;
    let taken = if state.config.second_factor != SecondFactorMode::Off
        && state.store.totp_enrolled(&LoginKey::of(&row.username)).await?
    {
        Some(step_up::take(state, row).await?)
    } else {
        None
    };
    let changed = state.store.change_key_status(&key.serial, KeyStatus::Compromised, Some(reason)).await;
    if let Err(e) = changed {
        if let Some(taken) = taken {
            step_up::give_back(state, row, taken).await;
        }
        return Err(AppError::from(e));
    }
    state.store.key_by_serial(&key.serial).await?.ok_or(AppError(ErrorKind::NotFound))
}
