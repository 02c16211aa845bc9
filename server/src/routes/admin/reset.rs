//! An administrator's reset: checked against the policy and the minimum age (the DC enforces
//! neither history nor minimum age on a reset), written to the directory with Replace, then
//! sealed to each of the employee's keys and queued until each connects. The plaintext is
//! dropped (and wiped) right after; the store keeps only ciphertext the server cannot open.

use axum::extract::{Path, State};
use axum::Json;
use latchkey_api::{AdminResetRequest, AdminResetResponse, ErrorKind};
use latchkey_protocol::message::Secret;

use super::Admin;
use crate::error::AppError;
use crate::keys::generate;
use crate::routes::ApiJson;
use crate::service::audit;
use crate::service::password::earliest_change;
use crate::service::{access, deliveries};
use crate::session::ClientAddr;
use crate::state::AppState;

pub async fn reset(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    Path(username): Path<String>,
    ApiJson(request): ApiJson<AdminResetRequest>,
) -> Result<Json<AdminResetResponse>, AppError> {
    // Audited under the employee's own logon name once found, whatever case the path used.
    let mut audited = username.clone();
    let outcome = async {
        let directory = state.directory()?;
        let access::Target { employee, user, facts } = access::administrable(&state, &username).await?;
        audited = employee.username.clone();
        if let Some(allowed_at) = earliest_change(&facts, state.now()) {
            return Err(AppError(ErrorKind::TooYoung { allowed_at: Some(allowed_at) }));
        }
        // A generated password nobody sees must reach a key, or nobody could sign in.
        if request.password.is_none() && state.store.delivery_targets(employee.id).await?.is_empty() {
            return Err(AppError(ErrorKind::NoActiveKey));
        }
        let new = generate::typed_or_generated(request.password, &facts.policy, &user.account(), &state.checker)
            .map_err(AppError)?;
        directory.reset_password(&user.dn, &new, request.must_change).await?;

        let secret = Secret::new(new.expose());
        drop(new);
        // The reset is done: a sealing failure is logged, never reported as a failed reset.
        let queued_for = deliveries::seal_to_keys(&state, employee.id, &secret, None).await.unwrap_or_else(|e| {
            tracing::error!(employee = %employee.username, code = e.code(), "the reset could not be sealed to the keys");
            Vec::new()
        });
        drop(secret);
        // The old password is gone: so are the user's sessions.
        state.store.end_other_sessions(&crate::store::Principal::Directory { dn: user.dn.clone() }, "").await?;
        Ok(AdminResetResponse { queued_for })
    }
    .await;
    audit::record(&state, &admin.username, audit::action::ADMIN_RESET, &audited, &outcome, &addr).await;
    outcome.map(Json)
}
