//! "Can't sign in?" over HTTP: which paths are on, recovery without the key, and an employee's
//! own keys (report one lost or stolen). Recovery with the key runs over the key relay
//! (`keys::recover`). The rules live in `service::recovery` and `service::own_keys`.

use axum::extract::State;
use axum::Json;
use latchkey_api::recovery::{OwnKey, RecoveryComplete, RecoveryOptions, RecoveryStart, RecoveryStarted, ReportKey};

use crate::error::AppError;
use crate::routes::{ApiJson, ApiPath};
use crate::service::{audit, notices, own_keys, recovery};
use crate::session::{ClientAddr, Session};
use crate::state::AppState;

#[utoipa::path(get, path = "/recovery", tag = "recovery", responses((status = 200, description = "Which recovery paths the organisation offers", body = RecoveryOptions), crate::routes::openapi::Refusals))]
pub async fn options(State(state): State<AppState>) -> Json<RecoveryOptions> {
    let c = &state.config;
    Json(RecoveryOptions {
        with_key: c.recovery_with_key && c.key_identity_file.is_some(),
        without_key: c.recovery_without_key && c.mail.is_some(),
        report_lost_key: c.report_lost_key && c.key_identity_file.is_some(),
    })
}

#[utoipa::path(post, path = "/recovery/start", tag = "recovery", request_body = RecoveryStart, responses((status = 200, description = "A code was mailed if the account may recover", body = RecoveryStarted), crate::routes::openapi::Refusals))]
pub async fn start(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<RecoveryStart>,
) -> Result<Json<RecoveryStarted>, AppError> {
    recovery::start(&state, &request.username, &addr).await.map(Json)
}

#[utoipa::path(post, path = "/recovery/complete", tag = "recovery", request_body = RecoveryComplete, responses((status = 200, description = "The account recovered"), crate::routes::openapi::Refusals))]
pub async fn complete(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<RecoveryComplete>,
) -> Result<(), AppError> {
    let username = request.username.trim().to_string();
    let outcome = recovery::complete(&state, &request, &addr).await;
    audit::record(&state, &username, audit::action::RECOVERY_RESET_WITHOUT_KEY, &username, &outcome, &addr).await;
    outcome
}

#[utoipa::path(get, path = "/keys", tag = "recovery", responses((status = 200, description = "The user's own keys", body = Vec<OwnKey>), crate::routes::openapi::Refusals))]
pub async fn own_keys(State(state): State<AppState>, Session(row): Session) -> Result<Json<Vec<OwnKey>>, AppError> {
    own_keys::list(&state, &row).await.map(Json)
}

#[utoipa::path(post, path = "/keys/{serial}/report", tag = "recovery", params(("serial" = String, Path, description = "The key's serial number")), request_body = ReportKey, responses((status = 200, description = "The key is marked lost or stolen", body = OwnKey), crate::routes::openapi::Refusals))]
pub async fn report_key(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiPath(serial): ApiPath<String>,
    ApiJson(request): ApiJson<ReportKey>,
) -> Result<Json<OwnKey>, AppError> {
    let outcome = own_keys::report(&state, &row, &serial, &request.reason).await;
    // Audited under the key's own serial once found, whatever case the path used.
    let target = outcome.as_ref().map_or(serial.trim(), |k| k.serial.as_str()).to_string();
    audit::record(&state, &row.username, audit::action::KEY_REPORTED, &target, &outcome, &addr).await;
    let key = outcome?;
    let reason = request.reason.trim().to_string();
    notices::send(
        &state,
        notices::Whose::Session(&row),
        notices::Notice::KeyReported { serial: key.serial.clone(), reason },
        &addr,
    );
    Ok(Json(OwnKey { serial: key.serial, status: key.status, status_reason: key.status_reason }))
}
