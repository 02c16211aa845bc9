use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

/// The process is up.
pub async fn live() -> &'static str {
    "ok"
}

/// The process can serve: the database answers and the service account binds to the directory.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await.map_err(|e| e.to_string());
    let directory = match &state.directory {
        None => Err("not configured".to_string()),
        Some(d) => d.ping().await.map_err(|e| e.to_string()),
    };
    let status = if database.is_ok() && directory.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let show = |r: Result<(), String>| r.err().unwrap_or_else(|| "ok".into());
    (status, Json(json!({ "database": show(database), "directory": show(directory) })))
}
