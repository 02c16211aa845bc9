//! Why a key session, or one operation in it, was refused: the relay's part of the API's one
//! vocabulary. Every refusal has a stable `code` (the page and the audit log see it) and a
//! message that tells the user what to do; refusals the rest of the API shares are `Api`.

use crate::ErrorKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRefusal {
    /// A refusal of the API's own vocabulary (unauthenticated, not permitted, a policy, …).
    Api(ErrorKind),
    /// The page broke the relay's protocol.
    RelayProtocol(RelayProblem),
    /// The key's answer could not be used (`detail` names the protocol's complaint).
    KeyProtocol {
        detail: String,
    },
    /// The key refused or ended the session.
    KeyRefused {
        detail: String,
    },
    KeyTimeout,
    /// The page closed the relay (the key went out of range, the tab closed).
    RelayClosed,
    UnregisteredKey {
        serial: String,
    },
    KeyMismatch {
        serial: String,
    },
    KeyUnassigned {
        serial: String,
        status: crate::registry::KeyStatus,
    },
    NotYourKey {
        serial: String,
    },
    SignInFirst {
        serial: String,
    },
    KeyReset {
        serial: String,
    },
    WrongServer,
    KeyStatus {
        serial: String,
        status: crate::registry::KeyStatus,
        reason: Option<crate::registry::StatusReason>,
    },
    KeyLocked {
        serial: String,
    },
    KeyBusy {
        serial: String,
    },
    /// The key refused a command; `said` is its refusal in words.
    KeyError {
        said: String,
    },
    NoSuchAccount,
    NoPasswordOnKey {
        said: String,
    },
    /// No current password typed.
    EmptyPassword,
    /// No password typed to store on the key.
    EmptyKeyPassword,
    /// Onboarding: the directory does not accept the password typed as the current one.
    WrongPassword,
    /// A change on the key only: the directory does not accept it; stored only if confirmed.
    Unverified,
    /// The directory did not answer the write: whether it took the new password is settled
    /// on the key's next connection.
    ChangeUnsettled,
    NotDirectoryManaged,
    ActivationNeeded,
    Internal,
}

/// How the page broke the relay's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayProblem {
    BeaconFirst,
    BeaconTooLong,
    BeaconNotHex,
    BeaconUnreadable,
    BeaconSerial,
    UnreadableRequest,
    ExpectedRequest,
    ExpectedFrame,
    AlreadyConnected,
}

impl KeyRefusal {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyRefusal::Api(kind) => kind.code(),
            KeyRefusal::RelayProtocol(_) => "relay_protocol",
            KeyRefusal::KeyProtocol { .. } => "key_protocol",
            KeyRefusal::KeyRefused { .. } => "key_refused",
            KeyRefusal::KeyTimeout => "key_timeout",
            KeyRefusal::RelayClosed => "relay_closed",
            KeyRefusal::UnregisteredKey { .. } => "unregistered_key",
            KeyRefusal::KeyMismatch { .. } => "key_mismatch",
            KeyRefusal::KeyUnassigned { .. } => "key_unassigned",
            KeyRefusal::NotYourKey { .. } => "not_your_key",
            KeyRefusal::SignInFirst { .. } => "sign_in_first",
            KeyRefusal::KeyReset { .. } => "key_reset",
            KeyRefusal::WrongServer => "wrong_server",
            KeyRefusal::KeyStatus { .. } => "key_status",
            KeyRefusal::KeyLocked { .. } => "key_locked",
            KeyRefusal::KeyBusy { .. } => "key_busy",
            KeyRefusal::KeyError { .. } => "key_error",
            KeyRefusal::NoSuchAccount => "no_such_account",
            KeyRefusal::NoPasswordOnKey { .. } => "no_password_on_key",
            KeyRefusal::EmptyPassword | KeyRefusal::EmptyKeyPassword => "empty_password",
            KeyRefusal::WrongPassword => "wrong_password",
            KeyRefusal::Unverified => "unverified",
            KeyRefusal::ChangeUnsettled => "change_unsettled",
            KeyRefusal::NotDirectoryManaged => "not_directory_managed",
            KeyRefusal::ActivationNeeded => "activation_needed",
            KeyRefusal::Internal => "internal",
        }
    }

    pub fn message(&self) -> String {
        match self {
            KeyRefusal::Api(kind) => kind.message(),
            KeyRefusal::RelayProtocol(problem) => problem.message().into(),
            KeyRefusal::KeyProtocol { detail } => format!("The key's answer could not be used ({detail})."),
            KeyRefusal::KeyRefused { detail } => format!("The key refused the session: {detail}."),
            KeyRefusal::KeyTimeout => "The key did not answer in time. Bring it closer and try again.".into(),
            KeyRefusal::RelayClosed => "The connection to the key was lost.".into(),
            KeyRefusal::UnregisteredKey { serial } => format!("Key {serial} is not registered with this portal."),
            KeyRefusal::KeyMismatch { serial } => format!("Key {serial} does not match its registration."),
            KeyRefusal::KeyUnassigned { serial, status } => {
                format!("Key {serial} is {}: it is not assigned to anyone yet. Ask your administrator.", status.label())
            }
            KeyRefusal::NotYourKey { serial } => format!("Key {serial} is assigned to someone else."),
            KeyRefusal::SignInFirst { serial } => {
                format!("Key {serial} is not activated yet: sign in with your password first, then connect it.")
            }
            KeyRefusal::KeyReset { serial } => {
                format!("Key {serial} was reset and no longer holds its activation. Ask your administrator.")
            }
            KeyRefusal::WrongServer => "This key is bound to another Latchkey server.".into(),
            KeyRefusal::KeyStatus { serial, status, reason } => {
                let reason = reason.map(|r| format!(" ({})", r.describe())).unwrap_or_default();
                format!("Key {serial} is {}{reason}: it cannot be used. Ask your administrator.", status.label())
            }
            KeyRefusal::KeyLocked { serial } => {
                format!("Key {serial} is locked after three wrong activation codes. Ask your administrator.")
            }
            KeyRefusal::KeyBusy { serial } => {
                format!("Key {serial} is already in a session (another tab or device?). Close it and try again.")
            }
            KeyRefusal::KeyError { said } | KeyRefusal::NoPasswordOnKey { said } => said.clone(),
            KeyRefusal::NoSuchAccount => "That account is not on the key.".into(),
            KeyRefusal::EmptyPassword => "Type your current password.".into(),
            KeyRefusal::EmptyKeyPassword => "Type the password to store on the key.".into(),
            KeyRefusal::WrongPassword => {
                "The directory does not accept this password: nothing was stored on the key. Type your current password."
                    .into()
            }
            KeyRefusal::Unverified => "The directory does not accept this password. Store it on the key anyway?".into(),
            KeyRefusal::ChangeUnsettled => "The directory stopped answering during the change, so it is not known yet \
                whether it took the new password. The key keeps both until it knows: connect it again when the \
                directory can be reached; your old password still works until then if the change did not go through."
                .into(),
            KeyRefusal::NotDirectoryManaged => {
                "This account on the key is not your directory account: change it on the key only.".into()
            }
            KeyRefusal::ActivationNeeded => "Enter the key's activation code first.".into(),
            KeyRefusal::Internal => "The server could not complete this; nothing further was changed.".into(),
        }
    }

    /// Whether the session cannot go on after it (the link or the protocol broke).
    pub fn ends_session(&self) -> bool {
        matches!(
            self,
            KeyRefusal::RelayClosed
                | KeyRefusal::ChangeUnsettled
                | KeyRefusal::RelayProtocol(_)
                | KeyRefusal::KeyTimeout
                | KeyRefusal::KeyProtocol { .. }
                | KeyRefusal::KeyRefused { .. }
                | KeyRefusal::Internal
        )
    }
}

impl RelayProblem {
    pub fn message(self) -> &'static str {
        match self {
            RelayProblem::BeaconFirst => "The session must start with the key's beacon.",
            RelayProblem::BeaconTooLong => "The key's beacon is too long.",
            RelayProblem::BeaconNotHex => "The beacon is not hex.",
            RelayProblem::BeaconUnreadable => "The key's beacon is unreadable.",
            RelayProblem::BeaconSerial => "The key's beacon carries no valid serial number.",
            RelayProblem::UnreadableRequest => "The page sent an unreadable request.",
            RelayProblem::ExpectedRequest => "Expected a request from the page.",
            RelayProblem::ExpectedFrame => "Expected a frame from the key.",
            RelayProblem::AlreadyConnected => "The key is already connected and active.",
        }
    }
}

impl From<ErrorKind> for KeyRefusal {
    fn from(kind: ErrorKind) -> Self {
        KeyRefusal::Api(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_api_refusals_keep_theirs() {
        assert_eq!(KeyRefusal::Api(ErrorKind::NotPermitted).code(), "not_permitted");
        assert_eq!(KeyRefusal::KeyError { said: "x".into() }.code(), "key_error");
        assert_eq!(KeyRefusal::RelayProtocol(RelayProblem::BeaconFirst).code(), "relay_protocol");
        let status = KeyRefusal::KeyStatus {
            serial: "LK-1".into(),
            status: crate::registry::KeyStatus::Locked,
            reason: Some(crate::registry::StatusReason::Lost),
        };
        assert_eq!(status.message(), "Key LK-1 is locked (lost): it cannot be used. Ask your administrator.");
        assert!(KeyRefusal::RelayClosed.ends_session() && !KeyRefusal::NoSuchAccount.ends_session());
    }
}
