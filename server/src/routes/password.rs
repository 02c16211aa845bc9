//! The password page: status (policy and dates), live check, change.

use axum::extract::State;
use axum::Json;
use latchkey_api::{
    ChangePasswordRequest, ChangePasswordResponse, CheckPasswordRequest, CheckPasswordResponse, ErrorKind,
    PasswordStatus, PolicySource,
};

use super::{session::parse_reason, ApiJson};
use crate::error::AppError;
use crate::local;
use crate::service::deliveries::Staged;
use crate::service::password::{change_in_directory, change_local, earliest_change, prepare_change};
use crate::service::{audit, changed, notices, step_up};
use crate::session::{ClientAddr, Session};
use crate::state::AppState;
use crate::store::{SessionRow, Staging};

#[utoipa::path(get, path = "/password/status", tag = "password", responses((status = 200, description = "The account, its expiry and the policy", body = PasswordStatus), crate::routes::openapi::Refusals))]
pub async fn status(State(state): State<AppState>, Session(row): Session) -> Result<Json<PasswordStatus>, AppError> {
    if row.principal().is_local() {
        let account = state.store.local_account(&row.username).await?.ok_or(AppError(ErrorKind::Unauthenticated))?;
        return Ok(Json(PasswordStatus {
            account: latchkey_policy::Account {
                sam_account_name: account.username,
                display_name: account.display_name,
            },
            earliest_change: None,
            policy: local::policy(),
            policy_source: PolicySource::Portal,
            now: state.now(),
            password_last_set: None,
            expires_at: None,
            may_change: account.may_change != 0,
            change_required: (account.must_change != 0).then_some(latchkey_api::ChangeReason::MustChange),
        }));
    }
    let facts = state.directory()?.account_facts(&row.user_dn).await?;
    let now = state.now();
    let change_required = row.change_required.as_deref().and_then(parse_reason);
    Ok(Json(PasswordStatus {
        account: facts.user.account(),
        earliest_change: earliest_change(&facts, now),
        policy: facts.policy,
        policy_source: facts.policy_source,
        now,
        password_last_set: facts.password_last_set,
        expires_at: facts.expires_at,
        may_change: facts.may_change,
        change_required,
    }))
}

#[utoipa::path(post, path = "/password/check", tag = "password", request_body = CheckPasswordRequest, responses((status = 200, description = "The policy's verdict on a candidate", body = CheckPasswordResponse), crate::routes::openapi::Refusals))]
pub async fn check(
    State(state): State<AppState>,
    Session(row): Session,
    ApiJson(request): ApiJson<CheckPasswordRequest>,
) -> Result<Json<CheckPasswordResponse>, AppError> {
    let (policy, account) = if row.principal().is_local() {
        let account =
            latchkey_policy::Account { sam_account_name: row.username.clone(), display_name: row.display_name.clone() };
        (local::policy(), account)
    } else {
        let facts = state.directory()?.account_facts(&row.user_dn).await?;
        (facts.policy, facts.user.account())
    };
    let candidate = request.candidate.expose();
    let report = latchkey_policy::check(candidate, None, &policy, &account, &state.checker);
    let inputs = [account.sam_account_name.as_str(), account.display_name.as_str()];
    Ok(Json(CheckPasswordResponse { report, strength: state.checker.strength(candidate, &inputs) }))
}

#[utoipa::path(post, path = "/password/change", tag = "password", request_body = ChangePasswordRequest, responses((status = 200, description = "The directory took the new password", body = ChangePasswordResponse), crate::routes::openapi::Refusals))]
pub async fn change(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<Json<ChangePasswordResponse>, AppError> {
    let staged = audit::audited(&state, &row.username, audit::action::CHANGE_PASSWORD, &row.username, &addr, async {
        state.limits.attempt(&row.username, addr.0).await?;
        let taken = step_up::take(&state, &row).await?;
        let written = write(&state, &row, &request).await;
        if written.as_ref().is_err_and(|e| step_up::refused_before_writing(&e.0)) {
            step_up::give_back(&state, &row, taken).await;
        }
        written
    })
    .await?;
    // Audited first, confirmed after: a process that dies in between leaves the keys' copies
    // staged, and their settling finds the change already recorded. The user's keys would hold
    // the old password: each gets the new one, sealed before the write.
    let (sessions_ended, _) = changed::own_change(&state, &row, staged).await;
    notices::send(&state, notices::Whose::Session(&row), notices::Notice::ChangedOnPage, &addr);
    Ok(Json(ChangePasswordResponse { sessions_ended }))
}

/// Writes the new password (the directory's, or a portal-local account's); the deliveries to
/// the employee's keys, staged before the directory write.
async fn write(state: &AppState, row: &SessionRow, request: &ChangePasswordRequest) -> Result<Staged, AppError> {
    if row.principal().is_local() {
        change_local(state, row, &request.current, &request.new).await?;
        return Ok(Staged::none());
    }
    let must_change = row.change_required.is_some();
    // A password the policy refuses stages nothing.
    let (facts, checked) = prepare_change(state, &row.user_dn, &request.current, &request.new, must_change).await?;
    // Sealed to the keys first: a crash after the write leaves them staged for the key's next
    // connection to settle, never a key with a password the directory no longer has.
    let employee = state.store.employee_by_guid(&facts.user.object_guid).await?.map(|e| e.id);
    let staging = Staging {
        user_dn: facts.user.dn.clone(),
        baseline: facts.password_last_set_ticks,
        by_reset: false,
        audit_action: Some("change_password"),
    };
    let secret = latchkey_protocol::message::Secret::new(request.new.expose());
    let staged = changed::stage(state, employee, &secret, None, &staging).await?;
    drop(secret);
    match change_in_directory(state, &facts, &request.current, &request.new, must_change, checked).await {
        Ok(()) => Ok(staged),
        // No answer: the DC may have applied it; the key's next connection settles it.
        Err(e) if matches!(e.0, ErrorKind::DirectoryUnavailable | ErrorKind::Internal) => {
            std::mem::drop(staged);
            Err(e)
        }
        Err(refused) => {
            staged.discard(state).await;
            Err(refused)
        }
    }
}
