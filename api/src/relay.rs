//! The key relay (`GET /api/key/relay`, a WebSocket): the page forwards the key's frames
//! (binary messages, opaque to it) both ways; these text messages frame the session.
//!
//! A session: the page sends `Beacon`; the server answers `NeedsActivation` (a reserved key's
//! first connection) or `Ready`; then the page asks for one operation at a time and hears
//! `Progress` steps, then `Done` or `Refused`. `Failed` ends the session.

use serde::{Deserialize, Serialize};

use crate::Password;

/// Page → server. Externally tagged (`{"onboard": {...}}`): cheaper to decode in wasm than
/// an internal tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RelayRequest {
    /// The key's beacon (its info characteristic), hex: which key this session is with.
    Beacon { beacon: String },
    /// The activation code the administrator handed over with the key.
    Activate { code: String },
    /// Stores the user's current directory password on the key, once the directory accepts it.
    Onboard { account: u16, password: Password },
    /// Replaces the password on the key only. A password the directory does not accept is
    /// stored only with `confirm_unverified`.
    ChangeOnKey { account: u16, password: Password, confirm_unverified: bool },
    /// Changes the password in the directory and on the key; `None`: the server generates one
    /// that nobody sees.
    ChangeEverywhere { account: u16, password: Option<Password> },
    /// Signs the key's owner in after a press on the key.
    SignIn,
    /// Confirms the signed-in owner before a change (step-up): a press on their own active key.
    ConfirmIdentity,
    /// "Can't sign in?" with the key: no session needed, the key names its owner; `code` from
    /// the authenticator app when the organisation asks for one.
    Recover { action: crate::recovery::RecoveryAction, code: Option<String> },
}

/// One account on the key, as the page may show it (never a password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyAccount {
    pub id: u16,
    pub name: String,
    pub login: String,
    pub directory_managed: bool,
    pub has_password: bool,
}

/// The steps an operation on a key goes through, as the page shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProgressStep {
    /// The directory is asked whether a password is right.
    Verifying,
    /// The key stores a password.
    Storing,
    /// The key waits for its button.
    ConfirmOnKey,
    /// The directory changes the password.
    Directory,
    /// The key makes the staged password its current one.
    Committing,
}

impl ProgressStep {
    pub const ALL: [ProgressStep; 5] = [
        ProgressStep::Verifying,
        ProgressStep::Storing,
        ProgressStep::ConfirmOnKey,
        ProgressStep::Directory,
        ProgressStep::Committing,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ProgressStep::Verifying => "verifying",
            ProgressStep::Storing => "storing",
            ProgressStep::ConfirmOnKey => "confirm_on_key",
            ProgressStep::Directory => "directory",
            ProgressStep::Committing => "committing",
        }
    }

    pub fn parse(label: &str) -> Option<ProgressStep> {
        ProgressStep::ALL.into_iter().find(|s| s.label() == label)
    }
}

/// Server → page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RelayEvent {
    /// A reserved key's first connection: the activation code is needed. `remaining` counts
    /// the tries left once a code was wrong.
    NeedsActivation { serial: String, remaining: Option<u8> },
    /// The key is reachable end to end; `notice` reports a change finished or undone on
    /// connecting (an earlier session was interrupted).
    Ready { serial: String, status: crate::registry::KeyStatus, accounts: Vec<KeyAccount>, notice: Option<String> },
    /// A step of the running operation.
    Progress { step: ProgressStep },
    /// The operation succeeded; the key's accounts as they are now.
    Done { message: String, accounts: Vec<KeyAccount> },
    /// Signed in with the key: redeem `ticket` at `POST /api/session/key` within a minute.
    SignedIn { ticket: String },
    /// The operation was refused; the session stays open. `code` is stable.
    Refused { code: String, message: String },
    /// The session ended with an error; `code` is stable.
    Failed { code: String, message: String },
}
