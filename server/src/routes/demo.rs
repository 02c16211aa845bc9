//! `GET /api/demo/virtual-key`: the demo's virtual key image, only when the server is
//! explicitly configured with one (`demo_virtual_key_file`). 404 otherwise.

use axum::extract::State;
use axum::Json;
use latchkey_api::{ErrorKind, VirtualKeyImage};

use crate::error::AppError;
use crate::state::AppState;

#[utoipa::path(get, path = "/demo/virtual-key", tag = "demo", responses((status = 200, description = "The demo key's image (demo deployments only)", body = VirtualKeyImage), crate::routes::openapi::Refusals))]
pub async fn virtual_key(State(state): State<AppState>) -> Result<Json<VirtualKeyImage>, AppError> {
    let path = state.config.demo_virtual_key_file.as_ref().ok_or(AppError(ErrorKind::NotFound))?;
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| {
            tracing::error!(path = %p.display(), error = %e, "the demo virtual key cannot be read");
            AppError(ErrorKind::Internal)
        })
    };
    let flash = read(path)?;
    let storage_key = read(&path.with_extension("sek"))?;
    Ok(Json(VirtualKeyImage { flash: hex::encode(flash), storage_key: hex::encode(storage_key) }))
}
