//! The key's side: the firmware's state machine. It answers frames from the server, enforces
//! activation, status and user presence, and changes its [`Vault`] only through the platform's
//! atomic `persist`: a command either leaves the vault as it was or fully done.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::{self, Seed};
use crate::frame::Frame;
use crate::message::{
    self, Account, AccountListing, Beacon, Command, Hello, Info, KeyError, KeyStatus, Reply, Request, Response, Secret,
    StatusChange, MAX_NAME_BYTES, MAX_PASSWORD_CHARS,
};
use crate::sealed;

pub const PROTOCOL_VERSION: u8 = 1;
/// Wrong activation codes before the key locks.
pub const ACTIVATION_TRIES: u8 = 3;
const MAX_NOISE: usize = 65_535;

/// What the key keeps across power cycles. Persisted by the platform (encrypted at rest).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Vault {
    pub serial: String,
    pub firmware: String,
    pub identity_secret: [u8; 32],
    pub activation_hash: [u8; 32],
    pub wrong_codes: u8,
    #[zeroize(skip)]
    pub status: KeyStatus,
    pub bound_server: Option<[u8; 32]>,
    pub slots: u16,
    #[zeroize(skip)]
    pub accounts: Vec<StoredAccount>,
    pub battery_percent: u8,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAccount {
    pub account: Account,
    pub current: Option<Secret>,
    pub staged: Option<Secret>,
    /// The last sealed delivery's counter accepted for this account.
    pub sealed_counter: u32,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("serial", &self.serial)
            .field("status", &self.status)
            .field("accounts", &self.accounts.len())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A new key as it leaves manufacture.
    pub fn manufacture(serial: &str, firmware: &str, identity_seed: Seed, activation_code: &str, slots: u16) -> Vault {
        let pair = crypto::KeyPair::from_seed(identity_seed);
        Vault {
            serial: serial.into(),
            firmware: firmware.into(),
            identity_secret: *pair.secret,
            activation_hash: crypto::activation_hash(serial, activation_code),
            wrong_codes: 0,
            status: KeyStatus::Ready,
            bound_server: None,
            slots,
            accounts: Vec::new(),
            battery_percent: 100,
        }
    }

    pub fn public_key(&self) -> [u8; 32] {
        crypto::KeyPair::from_secret(self.identity_secret).public
    }

    fn account_mut(&mut self, id: u16) -> Result<&mut StoredAccount, KeyError> {
        self.accounts.iter_mut().find(|a| a.account.id == id).ok_or(KeyError::NoSuchAccount)
    }
}

/// What the firmware needs from the hardware.
pub trait Platform {
    /// Fresh randomness.
    fn seed(&mut self) -> Seed;
    /// Asks the user to press the button; `false` when they do not in time.
    fn confirm_presence(&mut self) -> bool;
    /// Writes the vault atomically: all of it, or (on `Err`) nothing.
    fn persist(&mut self, vault: &Vault) -> Result<(), StorageError>;
}

/// The platform could not write its storage; nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageError;

enum Session {
    None,
    Open { transport: Box<snow::TransportState>, server: [u8; 32] },
}

pub struct Device {
    vault: Vault,
    session: Session,
}

impl Device {
    pub fn new(vault: Vault) -> Device {
        Device { vault, session: Session::None }
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn beacon(&self) -> Beacon {
        Beacon {
            protocol: PROTOCOL_VERSION,
            serial: self.vault.serial.clone(),
            public_key: self.vault.public_key(),
            status: self.vault.status,
            firmware: self.vault.firmware.clone(),
        }
    }

    /// The owner's reset on the key itself (not a protocol command): accounts, binding and
    /// failed activation tries are gone; the identity and the activation code stay.
    pub fn factory_reset(&mut self, platform: &mut dyn Platform) -> Result<(), StorageError> {
        let mut next = self.vault.clone();
        wipe(&mut next);
        next.status = KeyStatus::Ready;
        platform.persist(&next)?;
        self.vault = next;
        self.session = Session::None;
        Ok(())
    }

    /// The link went down: the session ends (a new one needs a new handshake).
    pub fn disconnect(&mut self) {
        self.session = Session::None;
    }

    /// Handles one frame from the server; returns the frame to answer with.
    pub fn on_frame(&mut self, bytes: &[u8], platform: &mut dyn Platform) -> Option<Vec<u8>> {
        let reply = match Frame::decode(bytes) {
            Ok(Frame::HandshakeInit(msg)) => self.handshake(&msg, platform),
            Ok(Frame::Transport(msg)) => self.transport(&msg, platform),
            _ => Err(KeyError::Malformed),
        };
        Some(
            reply
                .unwrap_or_else(|e| {
                    // Anything refused ends the session: a tampered or replayed message never decrypts.
                    self.session = Session::None;
                    Frame::Refused(e)
                })
                .encode(),
        )
    }

    fn handshake(&mut self, msg: &[u8], platform: &mut dyn Platform) -> Result<Frame, KeyError> {
        self.session = Session::None;
        let prologue = crypto::prologue(&self.vault.serial);
        let mut hs = crypto::builder(platform.seed())
            .and_then(|b| b.local_private_key(&self.vault.identity_secret))
            .and_then(|b| b.prologue(&prologue))
            .and_then(|b| b.build_responder())
            .map_err(|_| KeyError::HandshakeFailed)?;
        let mut payload = vec![0u8; MAX_NOISE];
        hs.read_message(msg, &mut payload).map_err(|_| KeyError::HandshakeFailed)?;
        let server: [u8; 32] =
            hs.get_remote_static().and_then(|s| s.try_into().ok()).ok_or(KeyError::HandshakeFailed)?;
        if let Some(bound) = self.vault.bound_server {
            if !crypto::constant_time_eq(&bound, &server) {
                return Err(KeyError::WrongServer);
            }
        }
        let hello = Hello {
            serial: self.vault.serial.clone(),
            status: self.vault.status,
            firmware: self.vault.firmware.clone(),
            activated: self.vault.bound_server.is_some(),
        };
        let mut out = vec![0u8; MAX_NOISE];
        let n = hs.write_message(&message::encode(&hello), &mut out).map_err(|_| KeyError::HandshakeFailed)?;
        out.truncate(n);
        let transport = hs.into_transport_mode().map_err(|_| KeyError::HandshakeFailed)?;
        self.session = Session::Open { transport: Box::new(transport), server };
        Ok(Frame::HandshakeReply(out))
    }

    fn transport(&mut self, msg: &[u8], platform: &mut dyn Platform) -> Result<Frame, KeyError> {
        let Session::Open { transport, server } = &mut self.session else { return Err(KeyError::Malformed) };
        let server = *server;
        let mut plain = zeroize::Zeroizing::new(vec![0u8; MAX_NOISE]);
        let n = transport.read_message(msg, &mut plain).map_err(|_| KeyError::Malformed)?;
        let request: Request = message::decode(&plain[..n])?;
        let mut results = Vec::with_capacity(request.commands.len());
        for command in &request.commands {
            let result = self.execute(command, &server, platform);
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        let response = zeroize::Zeroizing::new(message::encode(&Response { results }));
        let Session::Open { transport, .. } = &mut self.session else { return Err(KeyError::Malformed) };
        let mut out = vec![0u8; response.len() + 16];
        let n = transport.write_message(&response, &mut out).map_err(|_| KeyError::Malformed)?;
        out.truncate(n);
        Ok(Frame::Transport(out))
    }

    fn execute(
        &mut self,
        command: &Command,
        server: &[u8; 32],
        platform: &mut dyn Platform,
    ) -> Result<Reply, KeyError> {
        self.allowed(command, server)?;
        if command.needs_presence() && !platform.confirm_presence() {
            return Err(KeyError::PresenceDenied);
        }
        match command {
            Command::Info => Ok(Reply::Info(self.info())),
            Command::ListAccounts => Ok(Reply::Accounts(self.listing())),
            Command::ReadPassword { id } => {
                let a = self.vault.accounts.iter().find(|a| a.account.id == *id).ok_or(KeyError::NoSuchAccount)?;
                if a.current.is_none() && a.staged.is_none() {
                    return Err(KeyError::NoPassword);
                }
                Ok(Reply::Passwords { current: a.current.clone(), staged: a.staged.clone() })
            }
            Command::ConfirmPresence => Ok(Reply::Done),
            Command::Activate { code } => self.activate(code, server, platform),
            _ => {
                // Every other command changes the vault: on a copy, persisted atomically.
                let mut next = self.vault.clone();
                let reply = apply(&mut next, command)?;
                platform.persist(&next).map_err(|_| KeyError::StorageFailure)?;
                self.vault = next;
                Ok(reply)
            }
        }
    }

    /// Status and activation gates (PROTOCOL.md §9.2).
    fn allowed(&self, command: &Command, server: &[u8; 32]) -> Result<(), KeyError> {
        let bound_here = self.vault.bound_server.as_ref().is_some_and(|b| crypto::constant_time_eq(b, server));
        match (self.vault.status, command) {
            (_, Command::Info) => Ok(()),
            (KeyStatus::Deactivated, _) => Err(KeyError::Deactivated),
            (KeyStatus::Active, Command::Activate { .. }) => Err(KeyError::AlreadyActivated),
            (KeyStatus::Ready, Command::Activate { .. }) => Ok(()),
            (KeyStatus::Ready, _) => Err(KeyError::NotActivated),
            (KeyStatus::Locked | KeyStatus::Suspended, Command::ApplyStatus { .. }) if bound_here => Ok(()),
            (KeyStatus::Locked, _) => Err(KeyError::Locked),
            (KeyStatus::Suspended, _) => Err(KeyError::Suspended),
            (KeyStatus::Active, _) if bound_here => Ok(()),
            (KeyStatus::Active, _) => Err(KeyError::WrongServer),
        }
    }

    fn activate(&mut self, code: &str, server: &[u8; 32], platform: &mut dyn Platform) -> Result<Reply, KeyError> {
        let mut next = self.vault.clone();
        let right = crypto::constant_time_eq(&crypto::activation_hash(&next.serial, code), &next.activation_hash);
        let outcome = if right {
            next.bound_server = Some(*server);
            next.status = KeyStatus::Active;
            next.wrong_codes = 0;
            Ok(Reply::Done)
        } else {
            next.wrong_codes = next.wrong_codes.saturating_add(1);
            let remaining = ACTIVATION_TRIES.saturating_sub(next.wrong_codes);
            if remaining == 0 {
                next.status = KeyStatus::Locked;
                Err(KeyError::Locked)
            } else {
                Err(KeyError::WrongActivationCode { remaining })
            }
        };
        platform.persist(&next).map_err(|_| KeyError::StorageFailure)?;
        self.vault = next;
        outcome
    }

    fn info(&self) -> Info {
        Info {
            serial: self.vault.serial.clone(),
            firmware: self.vault.firmware.clone(),
            status: self.vault.status,
            free_slots: self.vault.slots.saturating_sub(self.vault.accounts.len() as u16),
            battery_percent: self.vault.battery_percent,
        }
    }

    fn listing(&self) -> Vec<AccountListing> {
        self.vault
            .accounts
            .iter()
            .map(|a| AccountListing {
                account: a.account.clone(),
                has_password: a.current.is_some(),
                has_staged: a.staged.is_some(),
            })
            .collect()
    }
}

/// A vault-changing command applied to `vault` (a copy; the caller persists it).
fn apply(vault: &mut Vault, command: &Command) -> Result<Reply, KeyError> {
    match command {
        Command::PutAccount { account } => {
            for field in [&account.name, &account.domain, &account.login] {
                if field.len() > MAX_NAME_BYTES {
                    return Err(KeyError::TooLarge);
                }
            }
            if let Ok(existing) = vault.account_mut(account.id) {
                existing.account = account.clone();
            } else if vault.accounts.len() >= vault.slots as usize {
                return Err(KeyError::NoFreeSlot);
            } else {
                vault.accounts.push(StoredAccount {
                    account: account.clone(),
                    current: None,
                    staged: None,
                    sealed_counter: 0,
                });
            }
            Ok(Reply::Done)
        }
        Command::SetPassword { id, password } => {
            check_length(password)?;
            let a = vault.account_mut(*id)?;
            a.current = Some(password.clone());
            a.staged = None;
            Ok(Reply::Done)
        }
        Command::Stage { id, password } => {
            check_length(password)?;
            vault.account_mut(*id)?.staged = Some(password.clone());
            Ok(Reply::Done)
        }
        Command::Commit { id } => {
            let a = vault.account_mut(*id)?;
            match a.staged.take() {
                Some(staged) => {
                    a.current = Some(staged);
                    Ok(Reply::Changed(true))
                }
                None => Ok(Reply::Changed(false)),
            }
        }
        Command::Abort { id } => Ok(Reply::Changed(vault.account_mut(*id)?.staged.take().is_some())),
        Command::DeleteAccount { id } => {
            vault.account_mut(*id)?;
            vault.accounts.retain(|a| a.account.id != *id);
            Ok(Reply::Done)
        }
        Command::DeliverSealed { id, counter, sealed } => {
            let serial = vault.serial.clone();
            let secret = vault.identity_secret;
            let a = vault.account_mut(*id)?;
            if *counter <= a.sealed_counter {
                return Err(KeyError::SealedReplayed);
            }
            let password = sealed::open(&secret, &serial, *id, *counter, sealed)?;
            check_length(&password)?;
            a.current = Some(password);
            a.staged = None;
            a.sealed_counter = *counter;
            Ok(Reply::Done)
        }
        Command::ApplyStatus { change } => {
            match change {
                StatusChange::Lock => vault.status = KeyStatus::Locked,
                StatusChange::Suspend => vault.status = KeyStatus::Suspended,
                StatusChange::Unlock => vault.status = KeyStatus::Active,
                StatusChange::Deactivate => {
                    wipe(vault);
                    vault.status = KeyStatus::Deactivated;
                }
            }
            Ok(Reply::Done)
        }
        Command::Wipe => {
            wipe(vault);
            vault.status = KeyStatus::Ready;
            Ok(Reply::Done)
        }
        Command::Info
        | Command::ListAccounts
        | Command::ReadPassword { .. }
        | Command::ConfirmPresence
        | Command::Activate { .. } => Err(KeyError::Malformed),
    }
}

fn wipe(vault: &mut Vault) {
    vault.accounts.clear();
    vault.bound_server = None;
    vault.wrong_codes = 0;
}

fn check_length(password: &Secret) -> Result<(), KeyError> {
    if password.expose().chars().count() > MAX_PASSWORD_CHARS {
        Err(KeyError::TooLarge)
    } else {
        Ok(())
    }
}
