//! `/api/admin/*`: administration, for members of the configured directory group once they gave
//! a TOTP code in this session. Every handler takes [`Admin`], so nothing here is reachable
//! otherwise.

pub mod audit_log;
pub mod dashboard;
pub mod directory_check;
pub mod employees;
pub mod keys;
pub mod mail;
pub mod reset;
pub mod totp;
pub mod user_totp;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use latchkey_api::{AdminState, ErrorKind};

use crate::error::AppError;
use crate::service::access;
use crate::service::audit;
use crate::session::{ClientAddr, Session};
use crate::state::AppState;
use crate::store::SessionRow;

/// A session of an administrator whose second factor was checked.
pub struct Admin(pub SessionRow);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Session(row) = Session::from_request_parts(parts, state).await?;
        match row.admin_state.as_deref().and_then(AdminState::parse) {
            Some(AdminState::Active) => {}
            Some(_) => return Err(AppError(ErrorKind::SecondFactorRequired)),
            None => return Err(AppError(ErrorKind::Forbidden)),
        }
        // Standing granted at sign-in is checked again: before every write, and every few minutes.
        let write = parts.method != Method::GET && parts.method != Method::HEAD;
        let now = state.now();
        if write || now - row.checked_at >= access::RECHECK_SECS {
            if let Err(refused) = access::still_admin(state, &row).await {
                if !matches!(refused.0, ErrorKind::DirectoryUnavailable | ErrorKind::Internal) {
                    state.store.delete_session(&row.token_hash).await?;
                    let addr = ClientAddr::from_request_parts(parts, state).await.unwrap_or(ClientAddr(None));
                    audit::record(
                        state,
                        &row.username,
                        audit::action::ADMIN_SESSION_ENDED,
                        &row.username,
                        &Err::<(), _>(AppError(refused.0.clone())),
                        &addr,
                    )
                    .await;
                }
                return Err(refused);
            }
            state.store.set_checked_at(&row.token_hash, now).await?;
        }
        Ok(Admin(row))
    }
}
