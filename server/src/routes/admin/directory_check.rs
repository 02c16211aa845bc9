//! `GET /api/admin/directory-check`: the directory self-check (`service::doctor`).

use axum::extract::State;
use axum::Json;
use latchkey_api::admin::DirectoryCheck;

use super::Admin;
use crate::service::doctor;
use crate::state::AppState;

#[utoipa::path(get, path = "/admin/directory-check", tag = "admin", responses((status = 200, description = "The self-check, each item with its fix", body = DirectoryCheck), crate::routes::openapi::Refusals))]
pub async fn check(State(state): State<AppState>, Admin(_): Admin) -> Json<DirectoryCheck> {
    Json(doctor::run(&state).await)
}
