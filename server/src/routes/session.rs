//! Sign-in by directory bind, the current session, sign-out.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::Json;
use latchkey_api::{ChangeReason, SessionView, SignInRequest};

use super::{audit, ApiJson};
use crate::error::AppError;
use crate::session::{self, ClientAddr, Session};
use crate::state::AppState;
use crate::store::{NewSession, SessionRow};

pub async fn sign_in(
    State(state): State<AppState>,
    addr: ClientAddr,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(HeaderMap, Json<SessionView>), AppError> {
    let username = request.username.trim().to_string();
    let outcome = async {
        state.limits.attempt(&username, addr.0)?;
        let signed_in = state.directory()?.authenticate(&username, &request.password).await?;
        let token = session::new_token();
        let csrf_token = session::new_token();
        let change_required = signed_in.change_required.map(reason_label);
        let now = state.now();
        state
            .store
            .create_session(NewSession {
                token_hash: &session::hash_token(&token),
                user_dn: &signed_in.user.dn,
                username: &signed_in.user.sam_account_name,
                display_name: &signed_in.user.display_name,
                change_required,
                csrf_token: &csrf_token,
                client_addr: addr.label().as_deref(),
                now,
                expires_at: now + state.config.session_ttl_secs as i64,
            })
            .await?;
        let view = SessionView {
            username: signed_in.user.sam_account_name,
            display_name: signed_in.user.display_name,
            change_required: signed_in.change_required,
            csrf_token,
        };
        Ok::<_, AppError>((token, view))
    }
    .await;
    audit::record(&state, &username, "sign_in", &username, &outcome, &addr).await;
    let (token, view) = outcome?;
    let mut headers = HeaderMap::new();
    let cookie = session::set_cookie(&token, state.config.session_ttl_secs, state.config.secure_cookies());
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| AppError(latchkey_api::ErrorKind::Internal))?,
    );
    Ok((headers, Json(view)))
}

pub async fn current(Session(row): Session) -> Json<SessionView> {
    Json(view_of(&row))
}

pub async fn sign_out(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
) -> Result<HeaderMap, AppError> {
    state.store.delete_session(&row.token_hash).await?;
    audit::record(&state, &row.username, "sign_out", &row.username, &Ok::<(), AppError>(()), &addr).await;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(state.config.secure_cookies())) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok(headers)
}

pub fn view_of(row: &SessionRow) -> SessionView {
    SessionView {
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        change_required: row.change_required.as_deref().and_then(parse_reason),
        csrf_token: row.csrf_token.clone(),
    }
}

fn reason_label(reason: ChangeReason) -> &'static str {
    match reason {
        ChangeReason::MustChange => "must_change",
        ChangeReason::Expired => "expired",
    }
}

pub fn parse_reason(label: &str) -> Option<ChangeReason> {
    match label {
        "must_change" => Some(ChangeReason::MustChange),
        "expired" => Some(ChangeReason::Expired),
        _ => None,
    }
}
