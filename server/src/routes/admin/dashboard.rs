//! `GET /api/admin/dashboard` (see [`dashboard::counts`]).

use axum::extract::State;
use axum::Json;
use latchkey_api::admin::Dashboard;

use super::Admin;
use crate::error::AppError;
use crate::service::dashboard;
use crate::state::AppState;

#[utoipa::path(get, path = "/admin/dashboard", tag = "admin", responses((status = 200, description = "The figures on the first page", body = Dashboard), crate::routes::openapi::Refusals))]
pub async fn dashboard(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<Dashboard>, AppError> {
    dashboard::counts(&state).await.map(Json)
}
