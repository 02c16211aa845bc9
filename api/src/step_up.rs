//! Confirming it is the account's owner right before a password is written: a code from an
//! authenticator app, or a press on the employee's own active key. A confirmation ("step-up")
//! is good for one operation within [`STEP_UP_SECS`].

use serde::{Deserialize, Serialize};

/// How long a confirmation waits for the operation it is for.
pub const STEP_UP_SECS: i64 = 5 * 60;

/// What the organisation asks for before a change (`second_factor` in the configuration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorMode {
    /// No confirmation: the session is enough.
    #[default]
    Off,
    /// A code from an authenticator app (or a recovery code).
    Totp,
    /// A code, or a press on the employee's own active key.
    KeyOrTotp,
}

/// `GET /api/step-up`: what the signed-in user has, and what a change will ask of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpStatus {
    pub mode: SecondFactorMode,
    /// An authenticator app is enrolled and confirmed.
    pub totp_enrolled: bool,
    /// The user holds an active key that may confirm (`key_or_totp` only).
    pub key_confirms: bool,
    /// Until when a confirmation given in this session is good (Unix seconds), if one is held.
    pub confirmed_until: Option<i64>,
    /// An authenticator may be enrolled now without another factor first.
    pub may_enrol: bool,
    /// Whom to call when no factor can be used.
    pub help_contact: String,
}

impl StepUpStatus {
    /// Whether a change would be refused for want of a confirmation.
    pub fn needs_confirmation(&self, now: i64) -> bool {
        self.mode != SecondFactorMode::Off && self.confirmed_until.is_none_or(|until| until < now)
    }
}

/// `POST /api/step-up/totp` and `POST /api/totp/confirm` grant a confirmation until this time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpGranted {
    pub confirmed_until: i64,
}

/// `POST /api/totp/confirm`: the recovery codes (shown once) and the confirmation the first
/// code gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserTotpConfirmed {
    pub recovery_codes: Vec<String>,
    pub confirmed_until: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(mode: SecondFactorMode, until: Option<i64>) -> StepUpStatus {
        StepUpStatus {
            mode,
            totp_enrolled: true,
            key_confirms: false,
            confirmed_until: until,
            may_enrol: false,
            help_contact: String::new(),
        }
    }

    #[test]
    fn a_confirmation_is_needed_unless_off_or_held() {
        assert!(!status(SecondFactorMode::Off, None).needs_confirmation(100));
        assert!(status(SecondFactorMode::Totp, None).needs_confirmation(100));
        assert!(!status(SecondFactorMode::KeyOrTotp, Some(100)).needs_confirmation(100));
        assert!(status(SecondFactorMode::KeyOrTotp, Some(99)).needs_confirmation(100));
    }

    #[test]
    fn modes_read_as_the_configuration_writes_them() {
        let mode: SecondFactorMode = serde_json::from_str("\"key_or_totp\"").unwrap();
        assert_eq!(mode, SecondFactorMode::KeyOrTotp);
    }
}
