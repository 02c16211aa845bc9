//! `POST /api/admin/employees/{username}/totp/reset`: an administrator removes an employee's
//! authenticator app (lost phone), if any, and lets them enrol a new one without another factor
//! for a day (an employee who once held a key may not otherwise). Audited; the owner is told.

use axum::extract::State;

use super::Admin;
use crate::error::AppError;
use crate::identity::LoginKey;
use crate::routes::{ApiJson, ApiPath};
use crate::service::{access, audit, notices};
use crate::session::ClientAddr;
use crate::state::AppState;

/// How long the employee may enrol a new authenticator without another factor.
const ENROLMENT_WINDOW_SECS: i64 = 24 * 3600;

#[utoipa::path(post, path = "/admin/employees/{username}/totp/reset", tag = "admin", params(("username" = String, Path, description = "The employee's logon name")), request_body = serde_json::Value, responses((status = 200, description = "The employee's authenticator is removed"), crate::routes::openapi::Refusals))]
pub async fn reset(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(username): ApiPath<String>,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> Result<(), AppError> {
    let mut audited = username.clone();
    let outcome = async {
        let target = access::administrable(&state, &username).await?;
        audited = target.employee.username.clone();
        state.store.reset_totp(&LoginKey::of(&target.employee.username)).await?;
        state.store.allow_enrolment(target.employee.id, state.now() + ENROLMENT_WINDOW_SECS).await?;
        notices::send(&state, notices::Whose::Dn(&target.user.dn), notices::Notice::AuthenticatorReset, &addr);
        Ok(())
    }
    .await;
    audit::record(&state, &admin.username, audit::action::ADMIN_TOTP_RESET, &audited, &outcome, &addr).await;
    outcome
}
