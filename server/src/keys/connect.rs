//! A key's connection: which key it is, whether it may be used, the handshake, activation on
//! a reserved key's first connection, the registry's status applied on the key, an
//! interrupted change reconciled (and a staged password no open change explains dropped), and
//! the accounts the key should hold put on it.

use latchkey_api::relay::{KeyAccount, ProgressStep, RelayEvent, RelayRequest};
use latchkey_protocol::crypto::KeyPair;
use latchkey_protocol::device::PROTOCOL_VERSION;
use latchkey_protocol::host::{HostEvent, HostSession};
use latchkey_protocol::message::{
    self, Account, AccountListing, Beacon, Command, KeyError, KeyStatus, LoginType, Reply, Sealed, StatusChange,
};

use super::channel::{Channel, Failure};
use super::lease::KeyLease;
use super::reconcile;
use crate::identity::LoginKey;
use crate::service::audit;
use crate::state::AppState;
use crate::store::{KeyAccountRow, KeyRow, SessionRow};
use latchkey_api::key_refusal::{KeyRefusal, RelayProblem};
use latchkey_api::registry::{KeyStatus as Registry, StatusReason};

/// A key the server talks to end to end, ready for the flows.
pub struct Connected {
    pub key: KeyRow,
    pub accounts: Vec<AccountListing>,
}

/// Runs the connection steps; on success the page has heard `Ready`.
pub async fn connect(
    ch: &mut Channel,
    state: &AppState,
    identity: &KeyPair,
    user: Option<&SessionRow>,
    serial_seen: &mut Option<String>,
    lease: &mut Option<KeyLease>,
) -> Result<Connected, Failure> {
    let beacon = receive_beacon(ch).await?;
    *serial_seen = Some(beacon.serial.clone());
    let key = state
        .store
        .key_by_serial(&beacon.serial)
        .await?
        .ok_or_else(|| Failure(KeyRefusal::UnregisteredKey { serial: beacon.serial.clone() }))?;
    if key.public_key != beacon.public_key {
        return Err(Failure(KeyRefusal::KeyMismatch { serial: key.serial.clone() }));
    }
    let Some(owner) = &key.employee else {
        return Err(Failure(KeyRefusal::KeyUnassigned { serial: key.serial.clone(), status: key.status }));
    };
    if let Some(user) = user {
        if LoginKey::of(&owner.username) != LoginKey::of(&user.username) {
            return Err(Failure(KeyRefusal::NotYourKey { serial: key.serial.clone() }));
        }
    }

    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let (host, first) = HostSession::start(identity, &key.public_key, &key.serial, seed)
        .map_err(|e| Failure(KeyRefusal::KeyProtocol { detail: format!("the session could not start: {e:?}") }))?;
    ch.set_host(host);
    let reply = ch.exchange(first, std::time::Duration::from_secs(5)).await?;
    let hello = match ch_host_established(ch, &reply) {
        Ok(hello) => hello,
        Err(f) => return Err(f),
    };
    // Only a socket that proved the key holds its session slot: a sniffed beacon cannot.
    *lease = Some(KeyLease::take(state, &key.serial).await?);

    apply_registry_status(ch, state, &key, hello.activated, hello.status).await?;
    if !hello.activated {
        match (hello.status, key.status) {
            (KeyStatus::Locked, _) => {
                let reason = Some(StatusReason::InvalidActivationCode);
                state.store.set_key_status(key.id, Registry::Locked, reason).await?;
                return Err(refused_status(&key.serial, Registry::Locked, reason));
            }
            // Only the owner activates: the code passed through an administrator's hands.
            (_, Registry::Reserved) if user.is_none() => {
                return Err(Failure(KeyRefusal::SignInFirst { serial: key.serial.clone() }))
            }
            (_, Registry::Reserved) => activate(ch, state, &key).await?,
            _ => return Err(Failure(KeyRefusal::KeyReset { serial: key.serial.clone() })),
        }
    } else if key.status == Registry::Reserved {
        // Activated, but the registry missed it (the session dropped right after).
        state.store.mark_activated(key.id, state.now()).await?;
    }

    let mut notice = reconcile::open_changes(ch, state, &key).await?;
    let mut accounts = sync_accounts(ch, state, &key).await?;
    if let Some(dropped) = reconcile::leftover_staged(ch, state, &key, &accounts).await? {
        notice = notice.or(Some(dropped));
        accounts = match ch.take_listing() {
            Some(listed) => listed,
            None => list(ch).await?,
        };
    }
    let delivered = deliver(ch, state, &key).await?;
    if let Some(by) = &delivered {
        notice = Some(match by {
            SetBy::Administrator => "A new password your administrator set is now on the key.".into(),
            SetBy::User => "The new password you set is now on the key too.".into(),
        });
    }
    let delivered = delivered.is_some();
    // Deliveries bring the key's new listing back with them, unless one stopped the batch.
    match ch.take_listing() {
        Some(listed) => accounts = listed,
        None if delivered => accounts = list(ch).await?,
        None => {}
    }
    ch.send(&RelayEvent::Ready {
        serial: key.serial.clone(),
        status: Registry::Active,
        accounts: views(&accounts),
        notice,
    })
    .await?;
    Ok(Connected { key, accounts })
}

fn ch_host_established(ch: &mut Channel, reply: &[u8]) -> Result<message::Hello, Failure> {
    match ch.on_handshake(reply) {
        Some(Ok(HostEvent::Established(hello))) => Ok(hello),
        Some(Err(latchkey_protocol::host::HostError::Refused(KeyError::WrongServer))) => {
            Err(Failure(KeyRefusal::WrongServer))
        }
        Some(Err(e)) => Err(Failure(KeyRefusal::KeyRefused { detail: format!("{e:?}") })),
        _ => Err(Failure(KeyRefusal::KeyProtocol { detail: "it answered out of turn".into() })),
    }
}

/// Locked, suspended, deactivated or compromised in the registry: the key is told, then the
/// session ends with a refusal that names the status.
async fn apply_registry_status(
    ch: &mut Channel,
    state: &AppState,
    key: &KeyRow,
    activated: bool,
    on_key: KeyStatus,
) -> Result<(), Failure> {
    let change = match key.status {
        Registry::Ready | Registry::Reserved | Registry::Active => None,
        Registry::Locked => Some(StatusChange::Lock),
        Registry::Suspended => Some(StatusChange::Suspend),
        Registry::Deactivated | Registry::Compromised => Some(StatusChange::Deactivate),
    };
    let Some(change) = change else {
        if activated && key.unlock_pending && matches!(on_key, KeyStatus::Locked | KeyStatus::Suspended) {
            // An administrator unlocked the key: the key hears it now.
            match ch.call_one(Command::ApplyStatus { change: StatusChange::Unlock }).await? {
                Ok(_) => state.store.clear_unlock_pending(key.id).await?,
                Err(e) => return Err(Failure::key(e)),
            }
            return Ok(());
        }
        if activated && matches!(on_key, KeyStatus::Locked | KeyStatus::Suspended) {
            // The key itself is locked (e.g. by its PIN): the registry follows.
            let status = if on_key == KeyStatus::Locked { Registry::Locked } else { Registry::Suspended };
            state.store.set_key_status(key.id, status, Some(StatusReason::ReportedByKey)).await?;
            return Err(refused_status(&key.serial, status, Some(StatusReason::ReportedByKey)));
        }
        return Ok(());
    };
    let already = matches!(
        (change, on_key),
        (StatusChange::Lock, KeyStatus::Locked)
            | (StatusChange::Suspend, KeyStatus::Suspended)
            | (StatusChange::Deactivate, KeyStatus::Deactivated)
    );
    if activated && !already {
        if let Ok(Err(e)) = ch.call_one(Command::ApplyStatus { change }).await {
            tracing::warn!(serial = %key.serial, error = %e, "the key refused its new status");
        }
    }
    Err(refused_status(&key.serial, key.status, key.status_reason))
}

fn refused_status(serial: &str, status: Registry, reason: Option<StatusReason>) -> Failure {
    Failure(KeyRefusal::KeyStatus { serial: serial.into(), status, reason })
}

/// The activation code, asked of the user until it is right or the key locks itself.
/// Wrong activation codes a key may be given, counted by the key and by the registry.
const ACTIVATION_TRIES: i64 = 3;

async fn activate(ch: &mut Channel, state: &AppState, key: &KeyRow) -> Result<(), Failure> {
    if state.store.activation_failures(key.id).await? >= ACTIVATION_TRIES {
        return Err(lock_for_wrong_codes(state, key).await?);
    }
    ch.send(&RelayEvent::NeedsActivation { serial: key.serial.clone(), remaining: None }).await?;
    loop {
        let code = match ch.request().await? {
            Some(RelayRequest::Activate { code }) => code,
            Some(_) => {
                ch.send(&refused(&Failure(KeyRefusal::ActivationNeeded))).await?;
                continue;
            }
            None => return Err(Failure(KeyRefusal::RelayClosed)),
        };
        ch.send(&RelayEvent::Progress { step: ProgressStep::ConfirmOnKey }).await?;
        match ch.call_one(Command::Activate { code: code.trim().to_string() }).await? {
            Ok(_) => {
                state.store.mark_activated(key.id, state.now()).await?;
                return Ok(());
            }
            Err(KeyError::WrongActivationCode { remaining }) => {
                // The registry counts too: a key reset to factory state forgot its own count.
                let failures = state.store.count_activation_failure(key.id).await?;
                if failures >= ACTIVATION_TRIES {
                    return Err(lock_for_wrong_codes(state, key).await?);
                }
                let remaining = remaining.min(u8::try_from(ACTIVATION_TRIES - failures).unwrap_or(0));
                let event = RelayEvent::NeedsActivation { serial: key.serial.clone(), remaining: Some(remaining) };
                ch.send(&event).await?;
            }
            Err(KeyError::Locked) => return Err(lock_for_wrong_codes(state, key).await?),
            Err(e) => {
                ch.send(&refused(&Failure::key(e))).await?;
                ch.send(&RelayEvent::NeedsActivation { serial: key.serial.clone(), remaining: None }).await?;
            }
        }
    }
}

/// Three wrong activation codes: the registry locks the key (it is told on its next connection).
async fn lock_for_wrong_codes(state: &AppState, key: &KeyRow) -> Result<Failure, Failure> {
    state.store.set_key_status(key.id, Registry::Locked, Some(StatusReason::InvalidActivationCode)).await?;
    Ok(Failure(KeyRefusal::KeyLocked { serial: key.serial.clone() }))
}

/// Hands the key the sealed passwords waiting for it; whether any was taken. One the key can
/// never take (replayed, not for it, account gone) is dropped; others wait for next time.
/// Who set a delivered password: the notice names them.
enum SetBy {
    Administrator,
    User,
}

/// Delivers what waits for the key; who set it, when something was taken.
async fn deliver(ch: &mut Channel, state: &AppState, key: &KeyRow) -> Result<Option<SetBy>, Failure> {
    super::staged::settle(state, key).await?;
    let pending: Vec<_> = state
        .store
        .pending_deliveries(key.id)
        .await?
        .into_iter()
        // Still staged: the directory write it follows is not confirmed yet.
        .filter(|d| d.staged_for.is_none())
        .collect();
    let set_by = if pending.iter().any(|d| d.staged_by_reset != 0) { SetBy::Administrator } else { SetBy::User };
    let commands: Vec<(i64, Command)> = pending
        .into_iter()
        .filter_map(|d| {
            let sealed = Sealed { encapsulated_key: d.encapsulated_key.try_into().ok()?, ciphertext: d.ciphertext };
            let command = Command::DeliverSealed {
                id: u16::try_from(d.slot).ok()?,
                counter: u32::try_from(d.counter).ok()?,
                sealed,
            };
            Some((d.id, command))
        })
        .collect();
    if commands.is_empty() {
        return Ok(None);
    }
    let mut delivered = false;
    let batches = fitting_batches(commands);
    let last = batches.len().saturating_sub(1);
    for (n, batch) in batches.into_iter().enumerate() {
        let (ids, commands): (Vec<i64>, Vec<Command>) = batch.into_iter().unzip();
        // The last batch brings the listing back with it.
        let results = if n == last { ch.call_batch_and_list(commands).await? } else { ch.call(commands).await? };
        // The key stops at its first error: what follows waits for the next connection.
        let complete = results.len() == ids.len() && results.iter().all(Result::is_ok);
        delivered |= take_results(state, key, ids, results).await?;
        if !complete {
            break;
        }
    }
    Ok(delivered.then_some(set_by))
}

/// A frame holds 4096 bytes (PROTOCOL.md §4.2): deliveries go in as many requests as they need,
/// each well under it (a sealed 256-character password is about 1.1 KB).
fn fitting_batches(commands: Vec<(i64, Command)>) -> Vec<Vec<(i64, Command)>> {
    const BUDGET: usize = 3000;
    let mut batches: Vec<Vec<(i64, Command)>> = Vec::new();
    let mut size = 0;
    for (id, command) in commands {
        let len = message::encode(&command).len();
        if batches.is_empty() || size + len > BUDGET {
            batches.push(Vec::new());
            size = 0;
        }
        size += len;
        if let Some(batch) = batches.last_mut() {
            batch.push((id, command));
        }
    }
    batches
}

/// Settles each delivery by the key's answer; whether any was taken.
async fn take_results(
    state: &AppState,
    key: &KeyRow,
    ids: Vec<i64>,
    results: Vec<Result<Reply, KeyError>>,
) -> Result<bool, Failure> {
    let mut delivered = false;
    for (id, result) in ids.into_iter().zip(results) {
        match result {
            Ok(_) => {
                state.store.delete_delivery(id).await?;
                delivered_audit(state, key, audit::action::DELIVERY_TAKEN, "success").await;
                delivered = true;
            }
            Err(e @ (KeyError::SealedReplayed | KeyError::SealedInvalid | KeyError::NoSuchAccount)) => {
                tracing::warn!(serial = %key.serial, error = %e, "a sealed delivery the key can never take was dropped");
                state.store.delete_delivery(id).await?;
                delivered_audit(state, key, audit::action::DELIVERY_DROPPED, "refused_by_key").await;
            }
            Err(e) => {
                tracing::warn!(serial = %key.serial, error = %e, "a sealed delivery waits for the next connection")
            }
        }
    }
    Ok(delivered)
}

async fn delivered_audit(state: &AppState, key: &KeyRow, action: audit::Action, result: &str) {
    let actor = audit::key_actor(&key.serial);
    audit::record_result(state, &actor, action, &key.serial, result, &crate::session::ClientAddr(None)).await;
}

/// Puts on the key the accounts the registry has for it and it lacks; returns the listing.
async fn sync_accounts(ch: &mut Channel, state: &AppState, key: &KeyRow) -> Result<Vec<AccountListing>, Failure> {
    let listed = list(ch).await?;
    let missing: Vec<Command> = state
        .store
        .key_accounts(key.id)
        .await?
        .iter()
        .filter(|a| !listed.iter().any(|l| i64::from(l.account.id) == a.slot))
        .filter_map(|a| account_of(a).map(|account| Command::PutAccount { account }))
        .collect();
    if missing.is_empty() {
        return Ok(listed);
    }
    for result in ch.call_batch_and_list(missing).await? {
        if let Err(e) = result {
            return Err(Failure::key(e));
        }
    }
    match ch.take_listing() {
        Some(accounts) => Ok(accounts),
        None => list(ch).await,
    }
}

pub async fn list(ch: &mut Channel) -> Result<Vec<AccountListing>, Failure> {
    match ch.call_one(Command::ListAccounts).await? {
        Ok(Reply::Accounts(a)) => Ok(a),
        Ok(_) => {
            Err(Failure(KeyRefusal::KeyProtocol { detail: "it answered the account list with something else".into() }))
        }
        Err(e) => Err(Failure::key(e)),
    }
}

fn account_of(row: &KeyAccountRow) -> Option<Account> {
    Some(Account {
        id: u16::try_from(row.slot).ok()?,
        name: row.name.clone(),
        login_type: match row.login_type.as_str() {
            "domain" => LoginType::DomainAccount,
            "entra" => LoginType::EntraAccount,
            _ => LoginType::Other,
        },
        domain: row.domain.clone(),
        login: row.login.clone(),
        directory_managed: row.directory_managed != 0,
    })
}

pub fn views(accounts: &[AccountListing]) -> Vec<KeyAccount> {
    accounts
        .iter()
        .map(|l| KeyAccount {
            id: l.account.id,
            name: l.account.name.clone(),
            login: if l.account.domain.is_empty() {
                l.account.login.clone()
            } else {
                format!("{}\\{}", l.account.domain, l.account.login)
            },
            directory_managed: l.account.directory_managed,
            has_password: l.has_password,
        })
        .collect()
}

pub fn refused(failure: &Failure) -> RelayEvent {
    RelayEvent::Refused { code: failure.code().into(), message: failure.message() }
}

/// Twice the bytes of the largest beacon (serial, public key, status, a short firmware name).
const MAX_BEACON_HEX: usize = 512;

async fn receive_beacon(ch: &mut Channel) -> Result<Beacon, Failure> {
    let Some(RelayRequest::Beacon { beacon }) = ch.request().await? else {
        return Err(Failure::relay(RelayProblem::BeaconFirst));
    };
    // A beacon is small; its serial is checked before it is logged, audited or looked up.
    if beacon.len() > MAX_BEACON_HEX {
        return Err(Failure::relay(RelayProblem::BeaconTooLong));
    }
    let bytes = hex::decode(beacon.trim()).map_err(|_| Failure::relay(RelayProblem::BeaconNotHex))?;
    let beacon: Beacon = message::decode(&bytes).map_err(|_| Failure::relay(RelayProblem::BeaconUnreadable))?;
    if !message::valid_serial(&beacon.serial) {
        return Err(Failure::relay(RelayProblem::BeaconSerial));
    }
    // The beacon names the newest protocol the key speaks; a key serves every older version's
    // commands too, so this server (version 1) talks to any key of version 1 or later, and
    // never sends a command newer than that.
    if beacon.protocol < PROTOCOL_VERSION {
        let detail =
            format!("it speaks protocol version {}; this portal needs {PROTOCOL_VERSION} or later", beacon.protocol);
        return Err(Failure(KeyRefusal::KeyProtocol { detail }));
    }
    Ok(beacon)
}
