use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// Each part's state: `ok`, or what went wrong.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    database: String,
    directory: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is up", body = String, content_type = "text/plain"), crate::routes::openapi::Refusals))]
pub async fn live() -> &'static str {
    "ok"
}

/// The process can serve: the database answers and the service account binds to the directory.
#[utoipa::path(get, path = "/readyz", tag = "health", responses((status = 200, description = "The database answers and the directory binds", body = Readiness), crate::routes::openapi::Refusals))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = state.store.ping().await.map_err(|e| e.to_string());
    let directory = match &state.directory {
        None => Err("not configured".to_string()),
        Some(d) => d.ping().await.map_err(|e| e.to_string()),
    };
    let status = if database.is_ok() && directory.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let show = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".into());
    (status, Json(Readiness { database: show(database), directory: show(directory) }))
}
