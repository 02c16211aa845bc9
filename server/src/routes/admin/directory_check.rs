//! `GET /api/admin/directory-check`: the directory self-check (`service::doctor`).

use axum::extract::State;
use axum::Json;
use latchkey_api::admin::DirectoryCheck;

use super::Admin;
use crate::service::doctor;
use crate::state::AppState;

pub async fn check(State(state): State<AppState>, Admin(_): Admin) -> Json<DirectoryCheck> {
    Json(doctor::run(&state).await)
}
