//! Step-up over HTTP: what a change will ask of the user, a code that confirms them, and
//! enrolling an authenticator app from the portal. The rules live in `service::step_up`.

use axum::extract::State;
use axum::Json;
use latchkey_api::step_up::{StepUpGranted, StepUpStatus, UserTotpConfirmed};
use latchkey_api::{ErrorKind, TotpCode, TotpEnrolment};

use crate::error::AppError;
use crate::routes::ApiJson;
use crate::service::{audit, notices, second_factor, step_up};
use crate::session::{ClientAddr, Session};
use crate::state::AppState;

#[utoipa::path(get, path = "/step-up", tag = "step-up", responses((status = 200, description = "Which second factor applies and whether this session confirmed it", body = StepUpStatus), crate::routes::openapi::Refusals))]
pub async fn status(State(state): State<AppState>, Session(row): Session) -> Result<Json<StepUpStatus>, AppError> {
    step_up::status(&state, &row).await.map(Json)
}

#[utoipa::path(post, path = "/step-up/totp", tag = "step-up", request_body = TotpCode, responses((status = 200, description = "Confirmed for a while", body = StepUpGranted), crate::routes::openapi::Refusals))]
pub async fn confirm_with_code(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<Json<StepUpGranted>, AppError> {
    audit::audited(&state, &row.username, audit::action::STEP_UP_TOTP, &row.username, &addr, async {
        state.limits.attempt(&row.username, addr.0).await?;
        let confirmed_until = step_up::confirm_with_code(&state, &row, &request.code).await?;
        Ok(StepUpGranted { confirmed_until })
    })
    .await
    .map(Json)
}

#[utoipa::path(post, path = "/totp/enrol", tag = "step-up", request_body = serde_json::Value, responses((status = 200, description = "A new authenticator secret, shown once", body = TotpEnrolment), crate::routes::openapi::Refusals))]
pub async fn enrol(
    State(state): State<AppState>,
    Session(row): Session,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> Result<Json<TotpEnrolment>, AppError> {
    let status = step_up::status(&state, &row).await?;
    if status.totp_enrolled {
        return Err(AppError(ErrorKind::AlreadyEnrolled));
    }
    // Who holds a key confirms with it first; who holds nothing may enrol only when allowed.
    let key_confirmed = status.key_confirms && status.confirmed_until.is_some();
    if !(status.may_enrol || key_confirmed) {
        return Err(if status.key_confirms {
            AppError(ErrorKind::StepUpRequired)
        } else {
            AppError(ErrorKind::NoSecondFactor { help_contact: status.help_contact })
        });
    }
    second_factor::begin(&state, &row.username).await.map(Json)
}

#[utoipa::path(post, path = "/totp/confirm", tag = "step-up", request_body = TotpCode, responses((status = 200, description = "Enrolled; recovery codes, shown once", body = UserTotpConfirmed), crate::routes::openapi::Refusals))]
pub async fn confirm_enrolment(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<Json<UserTotpConfirmed>, AppError> {
    audit::audited(&state, &row.username, audit::action::TOTP_ENROL, &row.username, &addr, async {
        state.limits.attempt(&row.username, addr.0).await?;
        let codes = second_factor::confirm(&state, &row.username, &request.code).await?;
        // The first code proves the factor just as a later one would.
        let confirmed_until = step_up::grant(&state, &row).await?;
        notices::send(&state, notices::Whose::Session(&row), notices::Notice::AuthenticatorEnrolled, &addr);
        Ok(UserTotpConfirmed { recovery_codes: codes.codes, confirmed_until })
    })
    .await
    .map(Json)
}
