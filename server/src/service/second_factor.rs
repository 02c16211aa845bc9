//! The second factor (TOTP, RFC 6238: SHA-1, 6 digits, 30 s, one step of
//! skew either way), as the rules of an identity product want it:
//! - a code is accepted once: only a time step later than the last accepted one counts, and
//!   the store takes it atomically (a replay on another replica is refused too);
//! - wrong codes are counted per administrator in the store: the `MAX_FAILURES`-th in a row
//!   locks codes for `LOCK_SECS`, whatever address the guesses come from;
//! - the secret is sealed with the server's key before it reaches the store.

use latchkey_api::{ErrorKind, RecoveryCodes, TotpEnrolment};
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

use crate::error::AppError;
use crate::identity::LoginKey;
use crate::session;
use crate::state::AppState;

const ISSUER: &str = "Latchkey";
const RECOVERY_CODES: usize = 8;
const STEP_SECS: i64 = 30;
/// Wrong codes in a row before codes are refused for a while.
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_SECS: i64 = 15 * 60;

/// Starts (or restarts, while unconfirmed) an enrolment for `username`: what it shows once,
/// the secret as text, as an `otpauth://` link and as its QR code.
pub async fn begin(state: &AppState, username: &str) -> Result<TotpEnrolment, AppError> {
    let mut secret = Zeroizing::new([0u8; 20]);
    rand::rng().fill_bytes(secret.as_mut());
    let sealed = state.secrets.seal_totp(secret.as_ref()).map_err(|_| AppError(ErrorKind::Internal))?;
    state.store.begin_totp(&LoginKey::of(username), &sealed, state.now()).await?;
    let secret_base32 = Secret::Raw(secret.to_vec()).to_encoded().to_string();
    let label = url_component(username);
    let otpauth_url = format!(
        "otpauth://totp/{ISSUER}:{label}?secret={secret_base32}&issuer={ISSUER}&algorithm=SHA1&digits=6&period=30"
    );
    let qr_svg = qr_svg(&otpauth_url);
    Ok(TotpEnrolment { secret_base32, otpauth_url, qr_svg })
}

/// The otpauth link as a QR code (SVG), drawn here so no page needs an encoder of its own.
fn qr_svg(otpauth_url: &str) -> String {
    match qrcode::QrCode::new(otpauth_url.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().quiet_zone(true).min_dimensions(200, 200).build(),
        Err(_) => String::new(),
    }
}

/// Confirms an enrolment with a first code; hands out the recovery codes, once.
pub async fn confirm(state: &AppState, username: &str, code: &str) -> Result<RecoveryCodes, AppError> {
    let who = LoginKey::of(username);
    check_code(state, &who, code, false).await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| session::hash_token(c)).collect();
    state.store.confirm_totp(&who, &hashes).await.map_err(|e| match e {
        sqlx::Error::RowNotFound => AppError(ErrorKind::Forbidden),
        other => AppError::from(other),
    })?;
    Ok(RecoveryCodes { codes })
}

/// Checks a code (or, with an enrolment confirmed, a recovery code) of an enrolled user.
pub async fn verify(state: &AppState, username: &str, code: &str) -> Result<(), AppError> {
    check_code(state, &LoginKey::of(username), code, true).await
}

async fn check_code(state: &AppState, who: &LoginKey, code: &str, recovery: bool) -> Result<(), AppError> {
    let row = state.store.totp(who).await?.ok_or(AppError(ErrorKind::Forbidden))?;
    // Only the first code of an enrolment confirms it; every other use needs it confirmed.
    if recovery && row.confirmed == 0 {
        return Err(AppError(ErrorKind::Forbidden));
    }
    let now = state.now();
    // Counted before it is checked: concurrent guesses cannot all slip under the lock.
    if !state.store.reserve_totp_try(who, MAX_FAILURES, now, LOCK_SECS).await? {
        let locked_until = state.store.totp(who).await?.map_or(now + LOCK_SECS, |r| r.locked_until);
        return Err(AppError(ErrorKind::RateLimited { retry_after_secs: (locked_until - now).max(1) as u64 }));
    }
    let code = code.trim();
    // A recovery code needs no secret: it works even if the secret cannot be opened.
    let is_totp_code = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    if !is_totp_code {
        if recovery
            && row.confirmed != 0
            && state.store.use_recovery_code(who, &session::hash_token(&code.to_lowercase()), now).await?
        {
            state.store.clear_totp_failures(who).await?;
            return Ok(());
        }
        return Err(AppError(ErrorKind::WrongCode));
    }
    let secret = state.secrets.open_totp(&row.secret).map_err(|e| {
        tracing::error!(user = %who, "{e}");
        AppError(ErrorKind::Internal)
    })?;
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, STEP_SECS as u64, secret.to_vec())
        .map_err(|_| AppError(ErrorKind::Internal))?;
    // A code of a step at or before the last accepted one was used already.
    match matching_step(&totp, code, now) {
        Some(step) if step > row.last_step && state.store.accept_totp_step(who, step).await? => Ok(()),
        _ => Err(AppError(ErrorKind::WrongCode)),
    }
}

/// The time step whose code `code` is, within one step of `now` either way.
fn matching_step(totp: &TOTP, code: &str, now: i64) -> Option<i64> {
    if code.len() != 6 {
        return None;
    }
    let current = now / STEP_SECS;
    [current - 1, current, current + 1].into_iter().filter(|s| *s >= 0).find(|step| {
        let expected = totp.generate((*step * STEP_SECS) as u64);
        constant_time_eq(expected.as_bytes(), code.as_bytes())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ten characters from an alphabet without look-alikes, grouped 5-5 for reading aloud.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Percent-encodes what is not unreserved (a logon name may hold spaces or any script).
fn url_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totp() -> TOTP {
        TOTP::new(Algorithm::SHA1, 6, 1, 30, b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn a_code_names_its_step_within_one_either_way() {
        let t = totp();
        let now = 1_800_000_015;
        let step = now / 30;
        assert_eq!(matching_step(&t, &t.generate(now as u64), now), Some(step));
        assert_eq!(matching_step(&t, &t.generate((now - 30) as u64), now), Some(step - 1));
        assert_eq!(matching_step(&t, &t.generate((now + 30) as u64), now), Some(step + 1));
        assert_eq!(matching_step(&t, &t.generate((now - 90) as u64), now), None, "too old");
        assert_eq!(matching_step(&t, "12345", now), None);
    }

    #[test]
    fn names_are_escaped_in_the_link() {
        assert_eq!(url_component("Ädmin x"), "%C3%84dmin%20x");
        assert_eq!(url_component("alice"), "alice");
    }
}
