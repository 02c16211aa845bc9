//! Messages (PROTOCOL.md §7–§8), encoded with postcard. New variants are only ever appended:
//! the variant index is the wire format.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Longest password a key stores, in characters.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest name, domain or login, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// A serial number: 1 to 32 characters, ASCII letters, digits, `-`, `_` and `.`.
pub const MAX_SERIAL_BYTES: usize = 32;

/// Whether `serial` has a serial number's form (checked before it is logged or looked up).
pub fn valid_serial(serial: &str) -> bool {
    (1..=MAX_SERIAL_BYTES).contains(&serial.len())
        && serial.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A password as the key holds and sends it: wiped on drop, never printed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    /// Factory state: not activated.
    Ready,
    Active,
    Locked,
    Suspended,
    Deactivated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginType {
    DomainAccount,
    EntraAccount,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: u16,
    pub name: String,
    pub login_type: LoginType,
    pub domain: String,
    pub login: String,
    pub directory_managed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountListing {
    pub account: Account,
    pub has_password: bool,
    pub has_staged: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub serial: String,
    pub firmware: String,
    pub status: KeyStatus,
    pub free_slots: u16,
    pub battery_percent: u8,
}

/// The info characteristic's plaintext value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    pub protocol: u8,
    pub serial: String,
    pub public_key: [u8; 32],
    pub status: KeyStatus,
    pub firmware: String,
}

/// The handshake reply's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub serial: String,
    pub status: KeyStatus,
    pub firmware: String,
    pub activated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusChange {
    Lock,
    Suspend,
    Unlock,
    /// Wipes the key.
    Deactivate,
}

/// An HPKE-sealed password (PROTOCOL.md §8.8, §9.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub encapsulated_key: [u8; 32],
    pub ciphertext: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Info,
    Activate { code: String },
    ListAccounts,
    PutAccount { account: Account },
    SetPassword { id: u16, password: Secret },
    Stage { id: u16, password: Secret },
    Commit { id: u16 },
    Abort { id: u16 },
    ReadPassword { id: u16 },
    DeleteAccount { id: u16 },
    DeliverSealed { id: u16, counter: u32, sealed: Sealed },
    ApplyStatus { change: StatusChange },
    Wipe,
    ConfirmPresence,
}

impl Command {
    /// Commands the user must confirm on the key.
    pub fn needs_presence(&self) -> bool {
        matches!(
            self,
            Command::Activate { .. }
                | Command::ReadPassword { .. }
                | Command::DeleteAccount { .. }
                | Command::Wipe
                | Command::ConfirmPresence
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Done,
    /// `Commit` / `Abort`: whether anything changed (both are idempotent).
    Changed(bool),
    Info(Info),
    Accounts(Vec<AccountListing>),
    Passwords {
        current: Option<Secret>,
        staged: Option<Secret>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub commands: Vec<Command>,
}

/// One result per executed command; execution stops at the first error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub results: Vec<Result<Reply, KeyError>>,
}

/// Every error the key can answer (PROTOCOL.md §8.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyError {
    Malformed,
    NotActivated,
    WrongActivationCode { remaining: u8 },
    Locked,
    Suspended,
    Deactivated,
    NoSuchAccount,
    NoFreeSlot,
    NoPassword,
    PresenceDenied,
    TooLarge,
    SealedInvalid,
    SealedReplayed,
    WrongServer,
    StorageFailure,
    HandshakeFailed,
    AlreadyActivated,
}

impl KeyError {
    /// The stable numeric code.
    pub fn code(self) -> u16 {
        match self {
            KeyError::Malformed => 1,
            KeyError::NotActivated => 2,
            KeyError::WrongActivationCode { .. } => 3,
            KeyError::Locked => 4,
            KeyError::Suspended => 5,
            KeyError::Deactivated => 6,
            KeyError::NoSuchAccount => 7,
            KeyError::NoFreeSlot => 8,
            KeyError::NoPassword => 9,
            KeyError::PresenceDenied => 10,
            KeyError::TooLarge => 11,
            KeyError::SealedInvalid => 12,
            KeyError::SealedReplayed => 13,
            KeyError::WrongServer => 14,
            KeyError::StorageFailure => 15,
            KeyError::HandshakeFailed => 16,
            KeyError::AlreadyActivated => 17,
        }
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::WrongActivationCode { remaining } => {
                write!(f, "wrong activation code ({remaining} tries left)")
            }
            other => write!(f, "{other:?}"),
        }
    }
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, KeyError> {
    postcard::from_bytes(bytes).map_err(|_| KeyError::Malformed)
}

#[cfg(test)]
mod tests {

    #[test]
    fn exactly_the_commands_that_reveal_or_destroy_need_a_press() {
        let secret = || Secret::new("x");
        let sealed = Sealed { encapsulated_key: [0; 32], ciphertext: vec![] };
        let press = [
            Command::Activate { code: "1".into() },
            Command::ReadPassword { id: 1 },
            Command::DeleteAccount { id: 1 },
            Command::Wipe,
            Command::ConfirmPresence,
        ];
        let no_press = [
            Command::Info,
            Command::SetPassword { id: 1, password: secret() },
            Command::ListAccounts,
            Command::Stage { id: 1, password: secret() },
            Command::Commit { id: 1 },
            Command::Abort { id: 1 },
            Command::DeliverSealed { id: 1, counter: 1, sealed },
            Command::ApplyStatus { change: StatusChange::Lock },
        ];
        assert!(press.iter().all(Command::needs_presence));
        assert!(no_press.iter().all(|c| !c.needs_presence()), "{no_press:?}");
    }

    #[test]
    fn serials_have_a_bounded_plain_form() {
        assert!(valid_serial("LK-DEMO-0001") && valid_serial("a.b_c") && valid_serial(&"9".repeat(32)));
        assert!(!valid_serial("") && !valid_serial(&"9".repeat(33)));
        assert!(!valid_serial("LK 1") && !valid_serial("LK\n1") && !valid_serial("LK-ü") && !valid_serial("a;b"));
    }

    use super::*;

    #[test]
    fn messages_round_trip_compactly() {
        let request = Request {
            commands: vec![
                Command::ReadPassword { id: 1 },
                Command::Stage { id: 1, password: Secret::new("Fresh-Orbit-2093") },
            ],
        };
        let bytes = encode(&request);
        assert!(bytes.len() < 30, "{} bytes", bytes.len());
        assert_eq!(decode::<Request>(&bytes), Ok(request));
        assert_eq!(decode::<Request>(&[0xff, 0xff]), Err(KeyError::Malformed));
    }

    #[test]
    fn error_codes_are_stable_and_distinct() {
        let all = [
            KeyError::Malformed,
            KeyError::NotActivated,
            KeyError::WrongActivationCode { remaining: 2 },
            KeyError::Locked,
            KeyError::Suspended,
            KeyError::Deactivated,
            KeyError::NoSuchAccount,
            KeyError::NoFreeSlot,
            KeyError::NoPassword,
            KeyError::PresenceDenied,
            KeyError::TooLarge,
            KeyError::SealedInvalid,
            KeyError::SealedReplayed,
            KeyError::WrongServer,
            KeyError::StorageFailure,
            KeyError::HandshakeFailed,
            KeyError::AlreadyActivated,
        ];
        let codes: Vec<u16> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes, (1..=17).collect::<Vec<u16>>());
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(***)");
    }
}
