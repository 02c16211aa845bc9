use latchkey_policy::Report;
use serde::{Deserialize, Serialize};

/// An error as the API returns it: a stable `code`, its details, and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    #[serde(flatten)]
    pub kind: ErrorKind,
    pub message: String,
}

impl From<ErrorKind> for ApiError {
    fn from(kind: ErrorKind) -> Self {
        let message = kind.message();
        ApiError { kind, message }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a client reads of an [`ApiError`]: the stable code, the message, and the failed rules
/// of a policy violation. Decoding this instead of the full enum keeps the browser bundle
/// small (no buffering of internally tagged variants).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub report: Option<Report>,
}

impl Problem {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Problem { code: code.into(), message: message.into(), report: None }
    }
}

/// Every failure the API can report. The serialized `code` is stable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidCredentials,
    WrongCurrentPassword,
    /// Minimum password age not reached; `allowed_at` in Unix seconds when known.
    TooYoung {
        allowed_at: Option<i64>,
    },
    TooShort {
        min_length: u32,
    },
    NotComplex,
    InHistory,
    SameAsCurrent,
    /// The portal's own check failed: every failed rule is in the report.
    PolicyViolation {
        report: Report,
    },
    /// The directory refused the password for a policy reason the portal cannot name.
    RejectedByDirectory,
    LockedOut,
    Disabled,
    AccountExpired,
    /// The directory denies this user the right to change their password.
    NotPermitted,
    /// The new password and its confirmation differ.
    ConfirmationMismatch,
    DirectoryUnavailable,
    RateLimited {
        retry_after_secs: u64,
    },
    Unauthenticated,
    CsrfRejected,
    BadRequest {
        reason: String,
    },
    NotFound,
    /// Hardware keys are not set up on this server.
    KeysUnavailable,
    /// Administration only: this user is not an administrator.
    Forbidden,
    /// An administrator must give a code from their authenticator first.
    SecondFactorRequired,
    /// The authenticator or recovery code is wrong (or used).
    WrongCode,
    /// A password is written only after the owner confirms it is them (a code or a key press).
    StepUpRequired,
    /// A confirmation is required but the user has no factor and may not enrol one now.
    NoSecondFactor {
        help_contact: String,
    },
    /// An authenticator app is enrolled already: an administrator resets it first.
    AlreadyEnrolled,
    /// The account left the employees' group, or was disabled there: no session.
    NotAnEmployee,
    /// An administrator may not act on this account: another administrator, the portal's
    /// service account, a protected account, or no employee of the portal.
    ProtectedAccount,
    /// A generated password would reach nobody: the employee has no active key.
    NoActiveKey,
    // What administrators send that the registry and the directory cannot take.
    UnknownListFilter,
    InvalidLoginType,
    EntraNeedsUpn,
    InvalidAccountName,
    InvalidLogonName,
    LogonNameTaken,
    InvalidManifestLine,
    DuplicateKey,
    InvalidSerial,
    InvalidPublicKey,
    InvalidActivationCode,
    NoKeyForAccount,
    NoFreeSlot,
    UnknownReason,
    /// Mail is not set up (no `[mail]` settings): nothing can be sent or queued.
    MailNotConfigured,
    /// An earlier write of this account's password is not settled yet (its outcome is being
    /// established, or it is still in flight); a second one now could leave a key with the
    /// wrong password.
    ChangeInProgress,
    Misconfigured,
    ManifestTooLong {
        max_lines: u32,
    },
    KeyNotReady {
        status: String,
    },
    InvalidTransition {
        from: String,
        to: String,
    },
    Internal,
}

impl ErrorKind {
    /// The stable code, as serialized in the `code` field.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::InvalidCredentials => "invalid_credentials",
            ErrorKind::WrongCurrentPassword => "wrong_current_password",
            ErrorKind::TooYoung { .. } => "too_young",
            ErrorKind::TooShort { .. } => "too_short",
            ErrorKind::NotComplex => "not_complex",
            ErrorKind::InHistory => "in_history",
            ErrorKind::SameAsCurrent => "same_as_current",
            ErrorKind::PolicyViolation { .. } => "policy_violation",
            ErrorKind::RejectedByDirectory => "rejected_by_directory",
            ErrorKind::LockedOut => "locked_out",
            ErrorKind::Disabled => "disabled",
            ErrorKind::AccountExpired => "account_expired",
            ErrorKind::NotPermitted => "not_permitted",
            ErrorKind::ConfirmationMismatch => "confirmation_mismatch",
            ErrorKind::DirectoryUnavailable => "directory_unavailable",
            ErrorKind::RateLimited { .. } => "rate_limited",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::CsrfRejected => "csrf_rejected",
            ErrorKind::BadRequest { .. } => "bad_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::KeysUnavailable => "keys_unavailable",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::SecondFactorRequired => "second_factor_required",
            ErrorKind::WrongCode => "wrong_code",
            ErrorKind::StepUpRequired => "step_up_required",
            ErrorKind::NoSecondFactor { .. } => "no_second_factor",
            ErrorKind::AlreadyEnrolled => "already_enrolled",
            ErrorKind::NotAnEmployee => "not_an_employee",
            ErrorKind::ProtectedAccount => "protected_account",
            ErrorKind::NoActiveKey => "no_active_key",
            ErrorKind::UnknownListFilter => "unknown_list_filter",
            ErrorKind::InvalidLoginType => "invalid_login_type",
            ErrorKind::EntraNeedsUpn => "entra_needs_upn",
            ErrorKind::InvalidAccountName => "invalid_account_name",
            ErrorKind::InvalidLogonName => "invalid_logon_name",
            ErrorKind::LogonNameTaken => "logon_name_taken",
            ErrorKind::InvalidManifestLine => "invalid_manifest_line",
            ErrorKind::DuplicateKey => "duplicate_key",
            ErrorKind::InvalidSerial => "invalid_serial",
            ErrorKind::InvalidPublicKey => "invalid_public_key",
            ErrorKind::InvalidActivationCode => "invalid_activation_code",
            ErrorKind::NoKeyForAccount => "no_key_for_account",
            ErrorKind::NoFreeSlot => "no_free_slot",
            ErrorKind::UnknownReason => "unknown_reason",
            ErrorKind::MailNotConfigured => "mail_not_configured",
            ErrorKind::ChangeInProgress => "change_in_progress",
            ErrorKind::Misconfigured => "misconfigured",
            ErrorKind::ManifestTooLong { .. } => "manifest_too_long",
            ErrorKind::KeyNotReady { .. } => "key_not_ready",
            ErrorKind::InvalidTransition { .. } => "invalid_transition",
            ErrorKind::Internal => "internal",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ErrorKind::InvalidCredentials => "The logon name or password is wrong.".into(),
            ErrorKind::WrongCurrentPassword => "The current password is wrong.".into(),
            ErrorKind::TooYoung { allowed_at: Some(_) } => {
                "Your password was changed too recently; the domain allows the next change later.".into()
            }
            ErrorKind::TooYoung { allowed_at: None } => {
                "Your password was changed too recently for the domain's minimum password age.".into()
            }
            ErrorKind::TooShort { min_length } => {
                format!("The new password is too short: the domain requires at least {min_length} characters.")
            }
            ErrorKind::NotComplex => {
                "The new password does not meet the domain's complexity requirements.".into()
            }
            ErrorKind::InHistory => {
                "The new password was used before: the domain remembers recent passwords.".into()
            }
            ErrorKind::SameAsCurrent => "The new password is the same as the current one.".into(),
            ErrorKind::PolicyViolation { report } => {
                let failed: Vec<_> = report.failures().map(|r| r.rule.message()).collect();
                format!("The new password does not meet the policy: {}.", failed.join("; "))
            }
            ErrorKind::RejectedByDirectory => {
                "The directory refused the new password: it may be too recent a change or a password used before.".into()
            }
            ErrorKind::LockedOut => {
                "The account is locked out after too many wrong passwords. Wait, or ask your administrator to unlock it.".into()
            }
            ErrorKind::Disabled => "The account is disabled. Ask your administrator.".into(),
            ErrorKind::AccountExpired => "The account has expired. Ask your administrator.".into(),
            ErrorKind::NotPermitted => {
                "You may not change your own password. Ask your administrator.".into()
            }
            ErrorKind::ConfirmationMismatch => "The new password and its confirmation differ.".into(),
            ErrorKind::DirectoryUnavailable => {
                "The directory cannot be reached right now. Nothing was changed; try again later.".into()
            }
            ErrorKind::RateLimited { retry_after_secs } => {
                format!("Too many attempts. Try again in {retry_after_secs} seconds.")
            }
            ErrorKind::Unauthenticated => "Please sign in.".into(),
            ErrorKind::CsrfRejected => "The request was refused for your protection; reload the page.".into(),
            ErrorKind::BadRequest { reason } => format!("Bad request: {reason}"),
            ErrorKind::NotFound => "There is no such API endpoint.".into(),
            ErrorKind::KeysUnavailable => "Hardware keys are not set up on this server.".into(),
            ErrorKind::Forbidden => "Only Latchkey's administrators may do this.".into(),
            ErrorKind::SecondFactorRequired => "Enter the code from your authenticator app first.".into(),
            ErrorKind::WrongCode => "That code is wrong or was used already. Try the current one.".into(),
            ErrorKind::StepUpRequired => {
                "Confirm it is you first: enter a code from your authenticator app, or press your key's button."
                    .into()
            }
            ErrorKind::NoSecondFactor { help_contact } => format!(
                "Your organisation asks for a second factor before a change, and you have none set up yet. \
                 Contact {help_contact}."
            ),
            ErrorKind::AlreadyEnrolled => {
                "An authenticator app is set up already. To replace it, ask an administrator to reset it.".into()
            }
            ErrorKind::NotAnEmployee => {
                "This account is no longer one of the portal's employees. Ask your administrator.".into()
            }
            ErrorKind::ProtectedAccount => {
                "Administrators may not act on this account here: it is not an employee of the portal, or it is \
                 another administrator, the portal's service account or a protected account."
                    .into()
            }
            ErrorKind::NoActiveKey => {
                "A generated password would reach nobody: this employee has no active key yet. Type a password \
                 to tell them instead, or wait until they activate their key."
                    .into()
            }
            ErrorKind::UnknownListFilter => "Show one of: all, active, disabled, removed, without_key.".into(),
            ErrorKind::InvalidLoginType => "The login type is a domain account (with its domain) or an Entra ID account (with the e-mail address).".into(),
            ErrorKind::EntraNeedsUpn => "An Entra ID account needs the user's e-mail address (name@domain).".into(),
            ErrorKind::InvalidAccountName => "The account's name on the key is 1 to 64 bytes.".into(),
            ErrorKind::InvalidLogonName => "The logon name is 1 to 64 characters, without spaces.".into(),
            ErrorKind::LogonNameTaken => "A directory user has this logon name: choose another for the portal's own administrator.".into(),
            ErrorKind::InvalidManifestLine => "Each line is serial,public_key,activation_code.".into(),
            ErrorKind::DuplicateKey => "A key with this serial number is registered already.".into(),
            ErrorKind::InvalidSerial => "A serial number is 1 to 32 letters, digits, '-', '_' or '.'.".into(),
            ErrorKind::InvalidPublicKey => "The public key is 64 hexadecimal digits (32 bytes), as the vendor's manifest lists it.".into(),
            ErrorKind::InvalidActivationCode => "The activation code is 8 digits.".into(),
            ErrorKind::NoKeyForAccount => "This employee has no key to put an account on: assign one first.".into(),
            ErrorKind::NoFreeSlot => "The key has no free slot for another account.".into(),
            ErrorKind::UnknownReason => "The reason is one of: lost, stolen, broken, invalid_activation_code, locked_by_pin, withdrawal.".into(),
            ErrorKind::ChangeInProgress => "Another change of this password is still being settled. Try again in a few minutes.".into(),
            ErrorKind::MailNotConfigured => "Mail is not set up on this portal: add the [mail] settings to send reminders.".into(),
            ErrorKind::Misconfigured => "The portal is not configured for this; its administrator has been told in the server's log.".into(),
            ErrorKind::ManifestTooLong { max_lines } => format!("A manifest has at most {max_lines} lines at once: split it."),
            ErrorKind::KeyNotReady { status } => format!("This key is {status}: only a ready key can be assigned."),
            ErrorKind::InvalidTransition { from, to } => format!("A key cannot go from {from} to {to}."),
            ErrorKind::Internal => "Something went wrong on the server. Nothing was changed.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_matches_the_serialized_tag() {
        let all = [
            ErrorKind::InvalidCredentials,
            ErrorKind::WrongCurrentPassword,
            ErrorKind::TooYoung { allowed_at: Some(1) },
            ErrorKind::TooShort { min_length: 8 },
            ErrorKind::NotComplex,
            ErrorKind::InHistory,
            ErrorKind::SameAsCurrent,
            ErrorKind::PolicyViolation { report: Report::default() },
            ErrorKind::RejectedByDirectory,
            ErrorKind::LockedOut,
            ErrorKind::Disabled,
            ErrorKind::AccountExpired,
            ErrorKind::NotPermitted,
            ErrorKind::ConfirmationMismatch,
            ErrorKind::DirectoryUnavailable,
            ErrorKind::RateLimited { retry_after_secs: 1 },
            ErrorKind::Unauthenticated,
            ErrorKind::CsrfRejected,
            ErrorKind::BadRequest { reason: "x".into() },
            ErrorKind::NotFound,
            ErrorKind::KeysUnavailable,
            ErrorKind::Forbidden,
            ErrorKind::SecondFactorRequired,
            ErrorKind::WrongCode,
            ErrorKind::StepUpRequired,
            ErrorKind::NoSecondFactor { help_contact: "x".into() },
            ErrorKind::AlreadyEnrolled,
            ErrorKind::NotAnEmployee,
            ErrorKind::ProtectedAccount,
            ErrorKind::NoActiveKey,
            ErrorKind::UnknownListFilter,
            ErrorKind::InvalidLoginType,
            ErrorKind::EntraNeedsUpn,
            ErrorKind::InvalidAccountName,
            ErrorKind::InvalidLogonName,
            ErrorKind::LogonNameTaken,
            ErrorKind::InvalidManifestLine,
            ErrorKind::DuplicateKey,
            ErrorKind::InvalidSerial,
            ErrorKind::InvalidPublicKey,
            ErrorKind::InvalidActivationCode,
            ErrorKind::NoKeyForAccount,
            ErrorKind::NoFreeSlot,
            ErrorKind::UnknownReason,
            ErrorKind::MailNotConfigured,
            ErrorKind::ChangeInProgress,
            ErrorKind::Misconfigured,
            ErrorKind::ManifestTooLong { max_lines: 1 },
            ErrorKind::KeyNotReady { status: "active".into() },
            ErrorKind::InvalidTransition { from: "a".into(), to: "b".into() },
            ErrorKind::Internal,
        ];
        for kind in all {
            assert_eq!(serde_json::to_value(&kind).unwrap()["code"], kind.code());
        }
    }

    #[test]
    fn wire_format_has_code_and_details() {
        let err = ApiError::from(ErrorKind::RateLimited { retry_after_secs: 30 });
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], "rate_limited");
        assert_eq!(json["retry_after_secs"], 30);
        assert_eq!(json["message"], "Too many attempts. Try again in 30 seconds.");
        let back: ApiError = serde_json::from_value(json).unwrap();
        assert_eq!(back, err);
    }

    #[test]
    fn clients_read_any_error_as_a_problem() {
        let report = Report::default();
        let err = ApiError::from(ErrorKind::PolicyViolation { report: report.clone() });
        let problem: Problem = serde_json::from_value(serde_json::to_value(&err).unwrap()).unwrap();
        assert_eq!(
            problem,
            Problem { code: "policy_violation".into(), message: err.message.clone(), report: Some(report) }
        );
        let plain = ApiError::from(ErrorKind::TooYoung { allowed_at: Some(5) });
        let problem: Problem = serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
        assert_eq!((problem.code.as_str(), problem.report), ("too_young", None));
    }
}
