//! `POST /api/admin/employees/{username}/totp/reset`: an administrator removes an employee's
//! authenticator app (lost phone), so they can enrol a new one. Audited; the owner is told.

use axum::extract::{Path, State};

use super::Admin;
use crate::error::AppError;
use crate::identity::LoginKey;
use crate::routes::ApiJson;
use crate::service::{access, audit, notices};
use crate::session::ClientAddr;
use crate::state::AppState;
use latchkey_api::ErrorKind;

pub async fn reset(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    Path(username): Path<String>,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> Result<(), AppError> {
    let mut audited = username.clone();
    let outcome = async {
        let target = access::administrable(&state, &username).await?;
        audited = target.employee.username.clone();
        if !state.store.reset_totp(&LoginKey::of(&target.employee.username)).await? {
            return Err(AppError(ErrorKind::NotFound));
        }
        notices::send(&state, notices::Whose::Dn(&target.user.dn), notices::Notice::AuthenticatorReset, &addr);
        Ok(())
    }
    .await;
    audit::record(&state, &admin.username, audit::action::ADMIN_TOTP_RESET, &audited, &outcome, &addr).await;
    outcome
}
