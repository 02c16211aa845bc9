//! The JSON API between the SPA and the server. Pure types: both sides compile this crate, so a
//! field renamed here is renamed everywhere.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod admin;
mod error;
pub mod key_refusal;
pub mod manifest;
mod password;
pub mod recovery;
pub mod registry;
pub mod relay;
pub mod step_up;

pub use error::{ApiError, ErrorKind, Problem};
pub use password::Password;

use latchkey_policy::{Account, Policy, Report};
use serde::{Deserialize, Serialize};

/// Header carrying the session's CSRF token on every state-changing request.
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    pub username: String,
    pub password: Password,
}

/// `POST /api/bootstrap`: the first administrator, with the setup token from the server's log.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BootstrapRequest {
    pub token: String,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: Password,
}

/// Redeems the ticket a sign-in with the key gave (see `relay::RelayEvent::SignedIn`).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeySignInRequest {
    pub ticket: String,
}

/// DEMO ONLY: a virtual key's image (`GET /api/demo/virtual-key`), hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VirtualKeyImage {
    pub flash: String,
    pub storage_key: String,
}

/// Why the user must change their password before anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    /// "User must change password at next logon".
    MustChange,
    /// The password is older than the maximum age.
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub username: String,
    pub display_name: String,
    pub change_required: Option<ChangeReason>,
    pub csrf_token: String,
    /// For members of the administrators' group: where their second factor stands.
    #[serde(default)]
    pub admin: Option<AdminState>,
}

/// An administrator's session: administration opens only once a TOTP code (or a recovery code)
/// was given in this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdminState {
    /// No authenticator yet: enrol one.
    EnrolTotp,
    VerifyTotp,
    Active,
}

impl AdminState {
    pub fn label(self) -> &'static str {
        match self {
            AdminState::EnrolTotp => "enrol_totp",
            AdminState::VerifyTotp => "verify_totp",
            AdminState::Active => "active",
        }
    }

    pub fn parse(label: &str) -> Option<AdminState> {
        [AdminState::EnrolTotp, AdminState::VerifyTotp, AdminState::Active].into_iter().find(|s| s.label() == label)
    }
}

/// `POST /api/admin/totp/enrol` and `POST /api/totp/enrol`: the authenticator's secret, shown
/// once, with its QR code as SVG (drawn by the server, so no page carries a QR encoder).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

/// `POST /api/admin/totp/confirm` and `/verify`: a code from the authenticator, or (verify only)
/// a recovery code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpCode {
    pub code: String,
}

/// The recovery codes, shown once at confirmation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// `POST /api/admin/employees/{username}/reset`: typed (`password`) or generated (`None`).
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminResetRequest {
    pub password: Option<Password>,
    #[serde(default)]
    pub must_change: bool,
}

/// What a reset did; never the password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminResetResponse {
    /// Keys the password was sealed to, delivered when each next connects.
    pub queued_for: Vec<String>,
}

/// Where the effective policy came from (externally tagged: `"domain"`, or
/// `{"fine_grained": {"name": ...}}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    Domain,
    FineGrained {
        name: String,
    },
    /// A fine-grained policy applies but the portal may not read it: the domain policy is shown,
    /// and the directory has the last word.
    FineGrainedUnreadable {
        name: String,
    },
    /// A portal-local account (not in the directory): Latchkey's own NIST policy.
    Portal,
}

/// Everything the change page shows before the user types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordStatus {
    pub account: Account,
    pub policy: Policy,
    pub policy_source: PolicySource,
    /// Unix seconds.
    pub now: i64,
    pub password_last_set: Option<i64>,
    /// Set when a change is not yet allowed.
    pub earliest_change: Option<i64>,
    pub expires_at: Option<i64>,
    /// False when the directory denies this user the right to change their password.
    pub may_change: bool,
    pub change_required: Option<ChangeReason>,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current: Password,
    pub new: Password,
}

#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckPasswordRequest {
    pub candidate: Password,
}

/// The server's verdict on a candidate: every rule, blocklist included, and a strength estimate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckPasswordResponse {
    pub report: Report,
    pub strength: Strength,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Strength {
    /// 0 (trivially guessed) to 4 (very strong).
    pub score: u8,
    pub guesses_log10: f64,
    pub warning: Option<String>,
    pub suggestions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordResponse {
    /// Other sessions of this user that the change ended.
    pub sessions_ended: u64,
}
