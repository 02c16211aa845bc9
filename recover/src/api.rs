//! The recovery API, typed: every URL these pages use is built here (a key's serial
//! percent-encoded); components call these functions only. Requests go through the app's
//! client, which sends the session's CSRF token once `session` has been read.

use latchkey_api::recovery::{OwnKey, RecoveryComplete, RecoveryOptions, RecoveryStart, RecoveryStarted, ReportKey};
use latchkey_api::Password;
use latchkey_app::api::{encode, get, post_json, post_unit};
pub use latchkey_app::api::{session, sign_in_with_key, step_up_totp, ApiResult};

/// Which ways to recover the organisation offers.
pub async fn options() -> ApiResult<RecoveryOptions> {
    get("/api/recovery").await
}

/// Asks for a code to the account's recovery address; the same answer whatever the name.
pub async fn start(username: String) -> ApiResult<RecoveryStarted> {
    post_json("/api/recovery/start", &RecoveryStart { username }).await
}

/// Both codes and the new password: the password is set in the directory.
pub async fn complete(username: String, totp_code: String, mail_code: String, new_password: String) -> ApiResult<()> {
    let body = RecoveryComplete { username, totp_code, mail_code, new_password: Password::new(new_password) };
    post_unit("/api/recovery/complete", &body).await
}

/// The signed-in employee's own keys.
pub async fn own_keys() -> ApiResult<Vec<OwnKey>> {
    get("/api/keys").await
}

/// Takes the key out of service as `reason` (`lost` or `stolen`); the key as it is now.
pub async fn report_key(serial: &str, reason: &str) -> ApiResult<OwnKey> {
    let url = format!("/api/keys/{}/report", encode(serial));
    post_json(&url, &ReportKey { reason: reason.to_string() }).await
}
