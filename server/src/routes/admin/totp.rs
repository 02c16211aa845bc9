//! The administrators' second factor over HTTP: enrol an authenticator, confirm it with a first
//! code (which hands out the recovery codes, once), then give a code, or a recovery code, in
//! every session. The rules live in `service::second_factor`.

use axum::extract::State;
use axum::Json;
use latchkey_api::{AdminState, ErrorKind, RecoveryCodes, TotpCode, TotpEnrolment};

use crate::error::AppError;
use crate::routes::ApiJson;
use crate::service::audit;
use crate::service::second_factor;
use crate::session::{ClientAddr, Session};
use crate::state::AppState;

fn state_of(row: &crate::store::SessionRow) -> Option<AdminState> {
    row.admin_state.as_deref().and_then(AdminState::parse)
}

#[utoipa::path(post, path = "/admin/totp/enrol", tag = "admin", responses((status = 200, description = "A new authenticator secret, shown once", body = TotpEnrolment), crate::routes::openapi::Refusals))]
pub async fn enrol(State(state): State<AppState>, Session(row): Session) -> Result<Json<TotpEnrolment>, AppError> {
    if state_of(&row) != Some(AdminState::EnrolTotp) {
        return Err(AppError(ErrorKind::Forbidden));
    }
    second_factor::begin(&state, &row.username).await.map(Json)
}

#[utoipa::path(post, path = "/admin/totp/confirm", tag = "admin", request_body = TotpCode, responses((status = 200, description = "Enrolled; recovery codes, shown once", body = RecoveryCodes), crate::routes::openapi::Refusals))]
pub async fn confirm(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<Json<RecoveryCodes>, AppError> {
    audit::audited(&state, &row.username, audit::action::ADMIN_TOTP_ENROL, &row.username, &addr, async {
        if state_of(&row) != Some(AdminState::EnrolTotp) {
            return Err(AppError(ErrorKind::Forbidden));
        }
        state.limits.attempt(&row.username, addr.0).await?;
        let codes = second_factor::confirm(&state, &row.username, &request.code).await?;
        state.store.set_admin_state(&row.token_hash, AdminState::Active.label()).await?;
        Ok(codes)
    })
    .await
    .map(Json)
}

#[utoipa::path(post, path = "/admin/totp/verify", tag = "admin", request_body = TotpCode, responses((status = 200, description = "This session may administer"), crate::routes::openapi::Refusals))]
pub async fn verify(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<(), AppError> {
    audit::audited(&state, &row.username, audit::action::ADMIN_TOTP_VERIFY, &row.username, &addr, async {
        if state_of(&row) != Some(AdminState::VerifyTotp) {
            return Err(AppError(ErrorKind::Forbidden));
        }
        state.limits.attempt(&row.username, addr.0).await?;
        second_factor::verify(&state, &row.username, &request.code).await?;
        state.store.set_admin_state(&row.token_hash, AdminState::Active.label()).await?;
        Ok(())
    })
    .await
}
