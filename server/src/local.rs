//! Portal-local accounts: the bootstrap administrator, created on first run with a one-time
//! setup token from the server's log, for a portal whose directory is not ready yet. Their
//! passwords are argon2id hashes, checked against Latchkey's own (NIST) policy; they can be
//! marked "may not change password" and "must change at next logon".

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use latchkey_api::{ErrorKind, Password};
use latchkey_policy::{Account, Policy};
use rand::RngCore;

use crate::error::AppError;
use crate::state::AppState;

pub fn policy() -> Policy {
    Policy::nist()
}

pub fn hash(password: &Password) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| AppError(ErrorKind::Internal))?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AppError(ErrorKind::Internal))
}

pub fn verify(hash: &str, password: &Password) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.expose().as_bytes(), &h).is_ok())
}

/// The policy's verdict on a new local password, as an error listing every failed rule.
pub fn check(
    state: &AppState,
    username: &str,
    display_name: &str,
    new: &Password,
    current: Option<&str>,
) -> Result<(), AppError> {
    let account = Account { sam_account_name: username.to_string(), display_name: display_name.to_string() };
    state.checker.require(new.expose(), current, &policy(), &account).map_err(AppError)
}
