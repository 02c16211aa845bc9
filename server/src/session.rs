//! Cookie sessions. The cookie holds a random token; the database holds its SHA-256 hash.
//! State-changing requests must carry the session's CSRF token in a header (a cross-site page
//! can neither read it nor set custom headers without a CORS preflight, which is never granted).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_api::{ErrorKind, CSRF_HEADER};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::state::AppState;
use crate::store::SessionRow;

/// The session cookie's name. Over HTTPS it carries the `__Host-` prefix: browsers then accept
/// it only Secure, for the whole site and this host alone (no Domain), so a sibling subdomain
/// cannot plant or overwrite it.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-latchkey_session"
    } else {
        "latchkey_session"
    }
}

/// A signed-in user.
pub struct Session(pub SessionRow);

impl FromRequestParts<AppState> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = cookie_token(parts, state.config.secure_cookies()).ok_or(AppError(ErrorKind::Unauthenticated))?;
        let row =
            state.store.session(&hash_token(&token), state.now()).await?.ok_or(AppError(ErrorKind::Unauthenticated))?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent != Some(row.csrf_token.as_str()) {
                return Err(AppError(ErrorKind::CsrfRejected));
            }
        }
        Ok(Session(row))
    }
}

/// A signed-in user, if any (the key relay offers a sign-in without one).
impl axum::extract::OptionalFromRequestParts<AppState> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, AppError> {
        match <Session as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(s) => Ok(Some(s)),
            Err(AppError(ErrorKind::Unauthenticated)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub use crate::client_addr::ClientAddr;

/// 32 random bytes, URL-safe base64.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn cookie_token(parts: &Parts, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

pub fn set_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    let name = cookie_name(!secure.is_empty());
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

/// A hint beside the session cookie, readable by the page: "a session was started here". It
/// carries nothing of the session; `index.html` shows its plain sign-in form at once when the
/// hint is absent, instead of waiting for the session's answer. A stale hint only means waiting.
pub fn hint_cookie(max_age_secs: u64, secure: bool) -> String {
    let (prefix, secure) = if secure { ("__Host-", "; Secure") } else { ("", "") };
    format!("{prefix}latchkey_signed_in=1; Path=/; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 43);
        assert_eq!(hash_token("a"), hash_token("a"));
        assert_eq!(hash_token("a").len(), 64);
    }

    #[test]
    fn cookie_has_the_protective_attributes() {
        let c = set_cookie("t", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(c.starts_with("__Host-latchkey_session=t; Path=/;") && !c.contains("Domain"), "{c}");
        assert!(set_cookie("t", 60, false).starts_with("latchkey_session="), "plain HTTP cannot hold __Host-");
        assert!(!set_cookie("t", 60, false).contains("Secure"));
    }

    #[test]
    fn the_hint_carries_nothing_of_the_session() {
        let hint = hint_cookie(60, true);
        assert_eq!(hint, "__Host-latchkey_signed_in=1; Path=/; SameSite=Strict; Max-Age=60; Secure");
        assert!(
            !hint_cookie(0, false).contains("HttpOnly") && hint_cookie(0, false).starts_with("latchkey_signed_in=")
        );
    }
}
