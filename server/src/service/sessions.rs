//! Starting a session, once the sign-in proved who it is: the session row (token and CSRF token
//! stored as the store keeps them), and whether it may carry administration.

use latchkey_api::{AdminState, ChangeReason, SessionView};

use crate::directory::UserRef;
use crate::error::AppError;
use crate::identity::LoginKey;
use crate::service::access;
use crate::session::{self, ClientAddr};
use crate::state::AppState;
use crate::store::{NewSession, Principal};

/// Whether a session may carry administration (after its second factor).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AdminEntry {
    Allowed,
    /// A sign-in that does not prove enough for administration (the key, by default).
    Never,
}

pub async fn start(
    state: &AppState,
    user: &UserRef,
    principal: Principal,
    change_required: Option<ChangeReason>,
    addr: &ClientAddr,
    admin_entry: AdminEntry,
    with_key: bool,
) -> Result<(String, SessionView), AppError> {
    let token = session::new_token();
    let csrf_token = session::new_token();
    let now = state.now();
    let admin = match admin_entry {
        AdminEntry::Allowed => admin_state(state, user, &principal).await?,
        AdminEntry::Never => None,
    };
    state
        .store
        .create_session(NewSession {
            token_hash: &session::hash_token(&token),
            principal: &principal,
            username: &user.sam_account_name,
            display_name: &user.display_name,
            change_required: change_required.map(reason_label),
            admin_state: admin.map(AdminState::label),
            csrf_token: &csrf_token,
            client_addr: addr.label().as_deref(),
            with_key,
            now,
            expires_at: now + state.config.session_ttl_secs as i64,
        })
        .await?;
    let view = SessionView {
        username: user.sam_account_name.clone(),
        display_name: user.display_name.clone(),
        change_required,
        csrf_token,
        admin,
    };
    Ok((token, view))
}

/// Members of the administrators' group start with their second factor to give (or enrol).
async fn admin_state(state: &AppState, user: &UserRef, principal: &Principal) -> Result<Option<AdminState>, AppError> {
    if !access::is_administrator(state, principal).await? {
        return Ok(None);
    }
    let enrolled = state.store.totp_enrolled(&LoginKey::of(&user.sam_account_name)).await?;
    Ok(Some(if enrolled { AdminState::VerifyTotp } else { AdminState::EnrolTotp }))
}

fn reason_label(reason: ChangeReason) -> &'static str {
    match reason {
        ChangeReason::MustChange => "must_change",
        ChangeReason::Expired => "expired",
    }
}
