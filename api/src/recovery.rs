//! "Can't sign in?": recovering an account without the help desk — with the key (unlock, or a
//! new password generated onto the key), without it (a code from the authenticator app and a
//! code mailed to the recovery address, then a typed password), and reporting a lost key.

use serde::{Deserialize, Serialize};

use crate::registry::{KeyStatus, StatusReason};
use crate::Password;

/// `GET /api/recovery`: which paths the organisation offers (the page shows only those).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryOptions {
    pub with_key: bool,
    pub without_key: bool,
    pub report_lost_key: bool,
}

/// What a recovery with the key does (relay request `recover`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecoveryAction {
    /// Clears the lockout; the password on the key works again.
    Unlock,
    /// A new password, generated to the policy, written to the directory and onto the key.
    Reset,
}

/// What the organisation asks for besides the key (`recovery_factors`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecoveryFactors {
    /// The key, and a code from the authenticator app when one is enrolled.
    #[default]
    KeyAndTotpWhenEnrolled,
    /// The key and a code, always (no authenticator, no recovery with the key).
    KeyAndTotp,
    /// The key alone.
    Key,
}

/// `POST /api/recovery/start`: a code to the account's recovery address.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryStart {
    pub username: String,
}

/// `POST /api/recovery/complete`: both codes and the new password.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryComplete {
    pub username: String,
    /// From the authenticator app (or a recovery code).
    pub totp_code: String,
    /// From the message sent to the recovery address.
    pub mail_code: String,
    pub new_password: Password,
}

/// The same answer for every name, whether or not it can be recovered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryStarted {
    pub message: String,
}

/// `GET /api/keys`: the signed-in employee's own keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnKey {
    pub serial: String,
    pub status: KeyStatus,
    pub status_reason: Option<StatusReason>,
}

/// `POST /api/keys/{serial}/report`: the key is lost or stolen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportKey {
    /// `lost` or `stolen`.
    pub reason: String,
}
