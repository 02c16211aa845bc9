//! Sign-in by directory bind, the current session, sign-out.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::Json;
use latchkey_api::{
    AdminState, BootstrapRequest, ChangeReason, ErrorKind, KeySignInRequest, SessionView, SignInRequest,
};

use super::ApiJson;
use crate::directory::UserRef;
use crate::error::AppError;
use crate::local;
use crate::service::audit;
use crate::service::{access, lockout, sessions};
use crate::session::{self, ClientAddr, Session};
use crate::state::AppState;
use crate::store::{Principal, SessionRow};

#[utoipa::path(post, path = "/session", tag = "session", request_body = SignInRequest, responses((status = 200, description = "Signed in: the session cookie is set", body = SessionView), crate::routes::openapi::Refusals))]
pub async fn sign_in(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(HeaderMap, Json<SessionView>), AppError> {
    let username = request.username.trim().to_string();
    let outcome = async {
        state.limits.attempt(&username, addr.0).await?;
        if let Some(account) = state.store.local_account(&username).await? {
            let attempt = lockout::reserve(&state, &[lockout::Account::local(&username)], lockout::Rule::LOCAL).await?;
            let right = local::verify(&account.password_hash, &request.password);
            lockout::settle(&state, attempt, Some(right)).await?;
            if !right {
                return Err(AppError(ErrorKind::InvalidCredentials));
            }
            let principal = Principal::Local { username: account.username.clone() };
            let user = UserRef {
                dn: String::new(),
                sam_account_name: account.username,
                display_name: account.display_name,
                object_guid: String::new(),
            };
            let change = (account.must_change != 0).then_some(ChangeReason::MustChange);
            let admin = sessions::AdminEntry::Allowed;
            return sessions::start(&state, &user, principal, change, &addr, admin, false).await;
        }
        let (signed_in, facts) = lockout::authenticate(&state, &username, &request.password).await?;
        access::admit_with(&state, &signed_in.user, &facts).await?;
        let principal = Principal::Directory { dn: signed_in.user.dn.clone() };
        sessions::start(
            &state,
            &signed_in.user,
            principal,
            signed_in.change_required,
            &addr,
            sessions::AdminEntry::Allowed,
            false,
        )
        .await
    }
    .await;
    audit::record(&state, &username, audit::action::SIGN_IN, &username, &outcome, &addr).await;
    let (token, view) = outcome?;
    Ok((cookie_headers(&state, &token)?, Json(view)))
}

/// `POST /api/bootstrap`: the first administrator, a portal-local account, with the one-time
/// setup token the server logged. Refused once used; the name may not be a directory user's.
#[utoipa::path(post, path = "/bootstrap", tag = "session", request_body = BootstrapRequest, responses((status = 200, description = "The first administrator is set up"), crate::routes::openapi::Refusals))]
pub async fn bootstrap(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<BootstrapRequest>,
) -> Result<(), AppError> {
    let outcome = async {
        state.limits.attempt_from(addr.0).await?;
        crate::service::bootstrap::create_admin(&state, &request).await
    }
    .await;
    let username = request.username.trim();
    audit::record(&state, username, audit::action::BOOTSTRAP_ADMIN, username, &outcome, &addr).await;
    outcome
}

/// `POST /api/session/key`: the ticket of a sign-in with the key (its channel plus a press on
/// its button) becomes a session for the key's owner.
#[utoipa::path(post, path = "/session/key", tag = "session", request_body = KeySignInRequest, responses((status = 200, description = "Signed in with the key", body = SessionView), crate::routes::openapi::Refusals))]
pub async fn sign_in_with_key(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<KeySignInRequest>,
) -> Result<(HeaderMap, Json<SessionView>), AppError> {
    let mut owner = String::from("unknown");
    let outcome = async {
        let now = state.now();
        let key_id = state
            .store
            .redeem_sign_in_ticket(&session::hash_token(request.ticket.trim()), now)
            .await?
            .ok_or(AppError(ErrorKind::Unauthenticated))?;
        let key = state.store.key_by_id(key_id).await?.ok_or(AppError(ErrorKind::Unauthenticated))?;
        let employee = key
            .employee
            .filter(|_| key.status == latchkey_api::registry::KeyStatus::Active)
            .ok_or(AppError(ErrorKind::Unauthenticated))?;
        owner = employee.username.clone();
        // The key's owner, found again by objectGUID, and asked what a password sign-in asks.
        let user = state
            .directory()?
            .find_by_guid(&employee.object_guid)
            .await?
            .ok_or(AppError(ErrorKind::InvalidCredentials))?;
        let facts = access::admit(&state, &user).await?;
        let change_required = facts.change_required.then_some(ChangeReason::MustChange);
        let admin = if state.config.key_sign_in_grants_admin {
            sessions::AdminEntry::Allowed
        } else {
            sessions::AdminEntry::Never
        };
        let principal = Principal::Directory { dn: user.dn.clone() };
        sessions::start(&state, &user, principal, change_required, &addr, admin, true).await
    }
    .await;
    audit::record(&state, &owner, audit::action::SIGN_IN_WITH_KEY, &owner, &outcome, &addr).await;
    let (token, view) = outcome?;
    Ok((cookie_headers(&state, &token)?, Json(view)))
}

fn cookie_headers(state: &AppState, token: &str) -> Result<HeaderMap, AppError> {
    let mut headers = HeaderMap::new();
    let (ttl, secure) = (state.config.session_ttl_secs, state.config.secure_cookies());
    for cookie in [session::set_cookie(token, ttl, secure), session::hint_cookie(ttl, secure)] {
        headers.append(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|_| AppError(ErrorKind::Internal))?);
    }
    Ok(headers)
}

#[utoipa::path(get, path = "/session", tag = "session", responses((status = 200, description = "Who is signed in", body = SessionView), crate::routes::openapi::Refusals))]
pub async fn current(Session(row): Session) -> Json<SessionView> {
    Json(view_of(&row))
}

#[utoipa::path(delete, path = "/session", tag = "session", responses((status = 200, description = "Signed out: the session cookie is cleared"), crate::routes::openapi::Refusals))]
pub async fn sign_out(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
) -> Result<HeaderMap, AppError> {
    state.store.delete_session(&row.token_hash).await?;
    audit::record(&state, &row.username, audit::action::SIGN_OUT, &row.username, &Ok::<(), AppError>(()), &addr).await;
    let mut headers = HeaderMap::new();
    let secure = state.config.secure_cookies();
    for cookie in [session::clear_cookie(secure), session::hint_cookie(0, secure)] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    Ok(headers)
}

pub fn view_of(row: &SessionRow) -> SessionView {
    SessionView {
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        change_required: row.change_required.as_deref().and_then(parse_reason),
        csrf_token: row.csrf_token.clone(),
        admin: row.admin_state.as_deref().and_then(AdminState::parse),
    }
}

pub fn parse_reason(label: &str) -> Option<ChangeReason> {
    match label {
        "must_change" => Some(ChangeReason::MustChange),
        "expired" => Some(ChangeReason::Expired),
        _ => None,
    }
}
