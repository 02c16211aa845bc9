//! Keys: registered from the vendor's manifest (one by one or as CSV), assigned to an employee
//! (Reserved; the activation code shown this once), moved between statuses along the allowed
//! transitions only (what the key must do is applied when it next connects).

use axum::extract::State;
use axum::Json;
use latchkey_api::admin::{AssignKey, AssignedKey, KeyStatusChange, KeyView, ManifestReport, RegisterKey};
use latchkey_api::manifest::{self, ManifestLine};
use latchkey_api::registry::{KeyStatus, StatusReason};
use latchkey_api::ErrorKind;

use super::employees::key_view;
use super::Admin;
use crate::error::AppError;
use crate::routes::{ApiJson, ApiPath};
use crate::service::access;
use crate::service::audit;
use crate::service::notices;
use crate::session::ClientAddr;
use crate::state::AppState;
use crate::store::NewEmployee;

#[utoipa::path(get, path = "/admin/keys", tag = "admin", responses((status = 200, description = "Every registered key", body = Vec<KeyView>), crate::routes::openapi::Refusals))]
pub async fn list(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<Vec<KeyView>>, AppError> {
    Ok(Json(state.store.keys().await?.iter().map(key_view).collect()))
}

#[utoipa::path(post, path = "/admin/keys", tag = "admin", request_body = RegisterKey, responses((status = 200, description = "The key is registered"), crate::routes::openapi::Refusals))]
pub async fn register(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiJson(request): ApiJson<RegisterKey>,
) -> Result<(), AppError> {
    let outcome = register_one(&state, &request.serial, &request.public_key, &request.activation_code).await;
    audit::record(&state, &admin.username, audit::action::ADMIN_REGISTER_KEY, request.serial.trim(), &outcome, &addr)
        .await;
    outcome
}

/// The vendor's manifest as CSV: `serial,public_key,activation_code` per line (a header line
/// starting with "serial" is skipped). Every good line is registered; the others are listed.
#[utoipa::path(post, path = "/admin/keys/manifest", tag = "admin", request_body(content = String, content_type = "text/plain", description = "One key per line: serial, public key, activation code"), responses((status = 200, description = "What was registered and what was refused, by line", body = ManifestReport), crate::routes::openapi::Refusals))]
pub async fn manifest(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    body: String,
) -> Result<Json<ManifestReport>, AppError> {
    let mut report = ManifestReport { registered: 0, errors: Vec::new() };
    for entry in manifest::parse(&body).map_err(AppError)? {
        let (line, outcome) = match entry {
            ManifestLine::Key { line, serial, public_key, activation_code } => {
                (line, register_one(&state, serial, public_key, activation_code).await)
            }
            ManifestLine::Malformed { line } => (line, Err(AppError(ErrorKind::InvalidManifestLine))),
        };
        match outcome {
            Ok(()) => report.registered += 1,
            Err(AppError(e)) => report.errors.push(format!("line {line}: {}", e.message())),
        }
    }
    let summary = Ok::<_, AppError>(());
    audit::record(
        &state,
        &admin.username,
        audit::action::ADMIN_REGISTER_MANIFEST,
        &format!("{} keys", report.registered),
        &summary,
        &addr,
    )
    .await;
    Ok(Json(report))
}

#[utoipa::path(post, path = "/admin/keys/{serial}/assign", tag = "admin", params(("serial" = String, Path, description = "The key's serial number")), request_body = AssignKey, responses((status = 200, description = "The key is assigned", body = AssignedKey), crate::routes::openapi::Refusals))]
pub async fn assign(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(serial): ApiPath<String>,
    ApiJson(request): ApiJson<AssignKey>,
) -> Result<Json<AssignedKey>, AppError> {
    audit::audited(&state, &admin.username, audit::action::ADMIN_ASSIGN_KEY, &serial, &addr, async {
        let employee = access::administrable(&state, &request.username).await?.employee;
        let new = NewEmployee {
            object_guid: &employee.object_guid,
            username: &employee.username,
            display_name: &employee.display_name,
        };
        let activation_code = state.store.assign_key(&serial, &new, state.now()).await?;
        let notice = notices::Notice::KeyAssigned { serial: serial.clone() };
        notices::send(&state, notices::Whose::Employee(&employee.object_guid), notice, &addr);
        Ok(AssignedKey { activation_code })
    })
    .await
    .map(Json)
}

#[utoipa::path(post, path = "/admin/keys/{serial}/status", tag = "admin", params(("serial" = String, Path, description = "The key's serial number")), request_body = KeyStatusChange, responses((status = 200, description = "The key moved to the new status"), crate::routes::openapi::Refusals))]
pub async fn status(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiPath(serial): ApiPath<String>,
    ApiJson(request): ApiJson<KeyStatusChange>,
) -> Result<(), AppError> {
    // The action is named from a fixed list, never from what the client sent.
    let action = match KeyStatus::parse(request.status.trim()) {
        Some(KeyStatus::Ready) => audit::action::ADMIN_KEY_READY,
        Some(KeyStatus::Active) => audit::action::ADMIN_KEY_ACTIVE,
        Some(KeyStatus::Locked) => audit::action::ADMIN_KEY_LOCKED,
        Some(KeyStatus::Suspended) => audit::action::ADMIN_KEY_SUSPENDED,
        Some(KeyStatus::Deactivated) => audit::action::ADMIN_KEY_DEACTIVATED,
        Some(KeyStatus::Compromised) => audit::action::ADMIN_KEY_COMPROMISED,
        Some(KeyStatus::Reserved) | None => audit::action::ADMIN_KEY_STATUS,
    };
    audit::audited(&state, &admin.username, action, &serial, &addr, async {
        let key = state.store.key_by_serial(&serial).await?.ok_or(AppError(ErrorKind::NotFound))?;
        let to = KeyStatus::parse(request.status.trim()).ok_or_else(|| {
            AppError(ErrorKind::InvalidTransition { from: key.status.label().into(), to: request.status.clone() })
        })?;
        let reason = match request.reason.as_deref() {
            None => None,
            Some(r) => Some(StatusReason::parse_given(r.trim()).ok_or(AppError(ErrorKind::UnknownReason))?),
        };
        // Taking a key out of service is always allowed; putting it (back) in service is acting
        // on its owner.
        if to == KeyStatus::Active {
            if let Some(owner) = &key.employee {
                access::administrable(&state, &owner.username).await?;
            }
        }
        state.store.change_key_status(&serial, to, reason).await?;
        if let Some(owner) = &key.employee {
            let notice = notices::Notice::KeyStatusChanged { serial: key.serial.clone(), status: to.label().into() };
            notices::send(&state, notices::Whose::Employee(&owner.object_guid), notice, &addr);
        }
        Ok(())
    })
    .await
}

async fn register_one(state: &AppState, serial: &str, public_key: &str, code: &str) -> Result<(), AppError> {
    let key = crate::store::parse_public_key(public_key)?;
    state.store.register_key(serial, &key, code, state.now()).await?;
    Ok(())
}
