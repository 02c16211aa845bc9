//! The first administrator of a portal nobody can administer yet: a one-time setup token,
//! offered by `serve` at start (never by a CLI command, so a token an operator holds stays
//! good), only while no administrator of any kind can sign in, good for an hour.

use latchkey_api::{BootstrapRequest, ErrorKind};

use crate::error::AppError;
use crate::local;
use crate::session;
use crate::state::AppState;

/// How long a setup token is good for after the start that offered it.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;

/// Offers a fresh token when nobody can administer the portal; the token, once.
pub async fn offer(state: &AppState) -> anyhow::Result<Option<String>> {
    if let (Some(group), Ok(directory)) = (&state.config.admin_group, state.directory()) {
        match directory.group_members(group).await {
            Ok(members) if members.iter().any(|m| !m.disabled) => {
                tracing::info!("the administrators' group has members: no setup token is offered");
                return Ok(None);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the administrators' group; offering a setup token"),
        }
    }
    let token = session::new_token();
    if !state.store.offer_bootstrap(&session::hash_token(&token), state.now()).await? {
        return Ok(None);
    }
    tracing::warn!(
        "no administrator can sign in yet: create one at POST /api/bootstrap within the hour with the one-time setup token {token}"
    );
    Ok(Some(token))
}

/// Creates the portal-local administrator with the token.
pub async fn create_admin(state: &AppState, request: &BootstrapRequest) -> Result<(), AppError> {
    // The token first: without it, nothing is looked up (no probing which names exist).
    let token_hash = session::hash_token(request.token.trim());
    let now = state.now();
    if !state.store.bootstrap_open(&token_hash, now - TOKEN_LIFETIME_SECS).await? {
        return Err(AppError(ErrorKind::Forbidden));
    }
    let username = request.username.trim();
    if username.is_empty() || username.chars().count() > 64 || username.contains(char::is_whitespace) {
        return Err(AppError(ErrorKind::InvalidLogonName));
    }
    // The name must not be a directory user's: refused when the directory cannot tell.
    if let Ok(directory) = state.directory() {
        if directory.find_user(username).await?.is_some() {
            return Err(AppError(ErrorKind::LogonNameTaken));
        }
    }
    let display_name = match request.display_name.trim() {
        "" => username,
        name => name,
    };
    local::check(state, username, display_name, &request.password, None)?;
    let hash = local::hash(&request.password)?;
    if !state.store.bootstrap_admin(&token_hash, username, display_name, &hash, now, now - TOKEN_LIFETIME_SECS).await? {
        return Err(AppError(ErrorKind::Forbidden));
    }
    Ok(())
}
