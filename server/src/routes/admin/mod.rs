//! `/api/admin/*`: administration, for members of the configured directory group once they gave
//! a TOTP code in this session. Every handler takes [`Admin`], so nothing here is reachable
//! otherwise.

pub mod audit_log;
pub mod employees;
pub mod keys;
pub mod reset;
pub mod totp;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use latchkey_api::{AdminState, ErrorKind};

use crate::error::AppError;
use crate::session::Session;
use crate::state::AppState;
use crate::store::SessionRow;

/// A session of an administrator whose second factor was checked.
pub struct Admin(pub SessionRow);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Session(row) = Session::from_request_parts(parts, state).await?;
        match row.admin_state.as_deref().and_then(AdminState::parse) {
            Some(AdminState::Active) => Ok(Admin(row)),
            Some(_) => Err(AppError(ErrorKind::SecondFactorRequired)),
            None => Err(AppError(ErrorKind::Forbidden)),
        }
    }
}
