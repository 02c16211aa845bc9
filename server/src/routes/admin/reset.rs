//! An administrator's reset (see [`password::reset_by_administrator`]): the HTTP edge.

use axum::extract::State;
use axum::Json;
use latchkey_api::{AdminResetRequest, AdminResetResponse};

use super::Admin;
use crate::error::AppError;
use crate::routes::{ApiJson, ApiPath};
use crate::service::{access, audit, notices, password};
use crate::session::ClientAddr;
use crate::state::AppState;

#[utoipa::path(post, path = "/admin/employees/{username}/reset", tag = "admin", params(("username" = String, Path, description = "The employee's logon name")), request_body = AdminResetRequest, responses((status = 200, description = "The password is reset and sealed to the keys", body = AdminResetResponse), crate::routes::openapi::Refusals))]
pub async fn reset(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(username): ApiPath<String>,
    ApiJson(request): ApiJson<AdminResetRequest>,
) -> Result<Json<AdminResetResponse>, AppError> {
    // Audited under the employee's own logon name once found, whatever case the path used.
    let mut audited = username.clone();
    let outcome = async {
        let target = access::administrable(&state, &username).await?;
        audited = target.employee.username.clone();
        let queued_for =
            password::reset_by_administrator(&state, &target, request.password, request.must_change).await?;
        notices::send(&state, notices::Whose::Dn(&target.user.dn), notices::Notice::ResetByAdministrator, &addr);
        Ok(AdminResetResponse { queued_for })
    }
    .await;
    audit::record(&state, &admin.username, audit::action::ADMIN_RESET, &audited, &outcome, &addr).await;
    outcome.map(Json)
}
