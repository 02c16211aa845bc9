//! The administrators' second factor: enrol an authenticator (TOTP, RFC 6238: SHA-1, 6 digits,
//! 30 s), confirm it with a first code (which hands out the recovery codes, once), then give a
//! code, or a recovery code, in every session.

use axum::extract::State;
use axum::Json;
use latchkey_api::{AdminState, ErrorKind, RecoveryCodes, TotpCode, TotpEnrolment};
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::AppError;
use crate::routes::{audit, ApiJson};
use crate::session::{self, ClientAddr, Session};
use crate::state::AppState;

const ISSUER: &str = "Latchkey";
const RECOVERY_CODES: usize = 8;

fn totp(secret: Vec<u8>) -> Result<TOTP, AppError> {
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret).map_err(|_| AppError(ErrorKind::Internal))
}

fn state_of(row: &crate::store::SessionRow) -> Option<AdminState> {
    row.admin_state.as_deref().and_then(AdminState::parse)
}

pub async fn enrol(State(state): State<AppState>, Session(row): Session) -> Result<Json<TotpEnrolment>, AppError> {
    if state_of(&row) != Some(AdminState::EnrolTotp) {
        return Err(AppError(ErrorKind::Forbidden));
    }
    let mut secret = [0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    state.store.begin_totp(&row.username, &secret, state.now()).await?;
    let secret_base32 = Secret::Raw(secret.to_vec()).to_encoded().to_string();
    let otpauth_url = format!(
        "otpauth://totp/{ISSUER}:{user}?secret={secret_base32}&issuer={ISSUER}&algorithm=SHA1&digits=6&period=30",
        user = row.username
    );
    Ok(Json(TotpEnrolment { secret_base32, otpauth_url }))
}

pub async fn confirm(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<Json<RecoveryCodes>, AppError> {
    let outcome = async {
        if state_of(&row) != Some(AdminState::EnrolTotp) {
            return Err(AppError(ErrorKind::Forbidden));
        }
        state.limits.attempt(&row.username, addr.0)?;
        let (secret, _) = state.store.totp(&row.username).await?.ok_or(AppError(ErrorKind::Forbidden))?;
        if !totp(secret)?.check(request.code.trim(), state.now() as u64) {
            return Err(AppError(ErrorKind::WrongCode));
        }
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| session::hash_token(c)).collect();
        state.store.confirm_totp(&row.username, &hashes).await?;
        state.store.set_admin_state(&row.token_hash, AdminState::Active.label()).await?;
        Ok(RecoveryCodes { codes })
    }
    .await;
    audit::record(&state, &row.username, "admin_totp_enrol", &row.username, &outcome, &addr).await;
    outcome.map(Json)
}

pub async fn verify(
    State(state): State<AppState>,
    addr: ClientAddr,
    Session(row): Session,
    ApiJson(request): ApiJson<TotpCode>,
) -> Result<(), AppError> {
    let outcome = async {
        if state_of(&row) != Some(AdminState::VerifyTotp) {
            return Err(AppError(ErrorKind::Forbidden));
        }
        state.limits.attempt(&row.username, addr.0)?;
        let (secret, _) = state.store.totp(&row.username).await?.ok_or(AppError(ErrorKind::Forbidden))?;
        let code = request.code.trim();
        let right = totp(secret)?.check(code, state.now() as u64)
            || state
                .store
                .use_recovery_code(&row.username, &session::hash_token(&normalize(code)), state.now())
                .await?;
        if !right {
            return Err(AppError(ErrorKind::WrongCode));
        }
        state.store.set_admin_state(&row.token_hash, AdminState::Active.label()).await?;
        Ok(())
    }
    .await;
    audit::record(&state, &row.username, "admin_totp_verify", &row.username, &outcome, &addr).await;
    outcome
}

/// Ten characters from an alphabet without look-alikes, grouped 5-5 for reading aloud.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

fn normalize(code: &str) -> String {
    code.trim().to_lowercase()
}
