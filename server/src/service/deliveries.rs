//! Passwords on their way to keys that are not connected: sealed (HPKE) to each key's static
//! key and queued until the key's next connection. Only ciphertext the server cannot open is
//! stored; the plaintext is wiped by the caller right after.
//!
//! Sealing comes before the directory write, staged: confirmed once the directory took the
//! password, dropped when it refused. A crash or a lost database in between leaves the staged
//! deliveries for the key's next connection to settle by pwdLastSet (`keys::connect`), so no
//! key is left holding a password the directory no longer has.

use latchkey_api::ErrorKind;
use latchkey_protocol::message::Secret;
use rand::RngCore;

use crate::error::AppError;
use crate::state::AppState;
use crate::store::Staging;

/// How long an unmoved pwdLastSet may still mean "the write is in flight": four times the
/// directory timeout (a change may retry as the service account, each attempt waiting up to
/// twice it) and a margin for replicas' clocks, two minutes at least.
pub fn settle_grace_secs(state: &AppState) -> i64 {
    let timeout = state.config.directory.as_ref().map_or(10, |d| d.timeout_secs);
    (i64::try_from(timeout).unwrap_or(i64::MAX / 8).saturating_mul(4) + 30).max(120)
}

/// Deliveries staged behind one directory write of `user_dn`'s password.
#[derive(Debug, Default)]
#[must_use = "staged deliveries are confirmed or dropped once the directory answered"]
pub struct Staged {
    user_dn: String,
    /// The newest delivery's id before this write staged anything.
    staged_after: i64,
    ids: Vec<i64>,
    serials: Vec<String>,
}

impl Staged {
    /// Nothing to deliver (a portal-local account): confirming it does nothing.
    pub fn none() -> Staged {
        Staged::default()
    }

    /// The directory took the password: the keys get it on their next connection, and what an
    /// earlier unsettled write of it staged goes. The serials it was queued for.
    pub async fn confirm(self, state: &AppState) -> Result<Vec<String>, AppError> {
        if self.user_dn.is_empty() {
            return Ok(Vec::new());
        }
        let confirmed = state.store.confirm_deliveries(&self.user_dn, &self.ids, self.staged_after).await?;
        if confirmed < self.ids.len() {
            // Settled meanwhile by a key's connection (a write slower than the grace period).
            tracing::error!(user = %self.user_dn, confirmed, staged = self.ids.len(), "staged deliveries were gone at confirmation");
        }
        let nowhere = crate::session::ClientAddr(None);
        for serial in &self.serials {
            let queued = super::audit::action::DELIVERY_QUEUED;
            super::audit::record_result(state, super::audit::SERVER_ACTOR, queued, serial, "success", &nowhere).await;
        }
        let mut serials = self.serials;
        serials.dedup();
        Ok(serials)
    }

    /// The directory refused it: nothing goes to the keys.
    pub async fn drop(self, state: &AppState) -> Result<(), AppError> {
        Ok(state.store.drop_deliveries(&self.ids).await?)
    }

    /// As `drop`, where the refusal is what the caller reports: a store that cannot drop them
    /// leaves them to the keys' next connection, which finds pwdLastSet unmoved.
    pub async fn discard(self, state: &AppState) {
        let user = self.user_dn.clone();
        if let Err(e) = self.drop(state).await {
            tracing::warn!(%user, code = e.code(), "staged deliveries are left for the keys' next connection to settle");
        }
    }
}

/// Seals `secret` to every directory-managed account of the employee on the keys assigned to
/// them (but `except_key`, which gets it in the same flow), staged behind the directory write
/// described by `staging`. All or nothing: a store failure midway drops what was staged.
pub async fn stage_to_keys(
    state: &AppState,
    employee_id: i64,
    secret: &Secret,
    except_key: Option<i64>,
    staging: &Staging,
) -> Result<Staged, AppError> {
    // One unsettled write of an account's password at a time: two in flight could finish in
    // the other order than they were staged, and a key would take the one the directory lost.
    // The lease makes the check and the staging one step across replicas: a second writer
    // waits for nothing and sees the first one's copies.
    let holder = hex::encode(rand::random::<[u8; 16]>());
    let now = state.now();
    if !state.store.take_write_lease(&staging.user_dn, &holder, now, now + WRITE_LEASE_SECS).await? {
        return Err(AppError(ErrorKind::ChangeInProgress));
    }
    let outcome = stage_leased(state, employee_id, secret, except_key, staging).await;
    if let Err(e) = state.store.release_write_lease(&staging.user_dn, &holder).await {
        tracing::error!(error = %e, "the write lease runs out on its own");
    }
    outcome
}

/// How long a write lease holds when its holder dies before giving it back.
const WRITE_LEASE_SECS: i64 = 30;

async fn stage_leased(
    state: &AppState,
    employee_id: i64,
    secret: &Secret,
    except_key: Option<i64>,
    staging: &Staging,
) -> Result<Staged, AppError> {
    if state.store.staged_since(&staging.user_dn, state.now() - settle_grace_secs(state)).await? {
        return Err(AppError(ErrorKind::ChangeInProgress));
    }
    let staged_after = state.store.newest_delivery().await?;
    let mut staged = Staged { user_dn: staging.user_dn.clone(), staged_after, ..Staged::default() };
    match stage_each(state, employee_id, secret, except_key, staging, &mut staged).await {
        Ok(()) => Ok(staged),
        Err(e) => {
            if let Err(left) = staged.drop(state).await {
                tracing::error!(code = left.code(), "staged deliveries could not be dropped after a failure");
            }
            Err(e)
        }
    }
}

async fn stage_each(
    state: &AppState,
    employee_id: i64,
    secret: &Secret,
    except_key: Option<i64>,
    staging: &Staging,
    staged: &mut Staged,
) -> Result<(), AppError> {
    for target in state.store.delivery_targets(employee_id).await? {
        if Some(target.key_id) == except_key {
            continue;
        }
        let (Ok(public_key), Ok(slot)) =
            (<[u8; 32]>::try_from(target.public_key.as_slice()), u16::try_from(target.slot))
        else {
            continue;
        };
        let counter = state.store.next_sealed_counter(target.key_id, target.slot).await?;
        let counter32 = u32::try_from(counter).map_err(|_| AppError(ErrorKind::Internal))?;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let sealed = latchkey_protocol::sealed::seal(&public_key, &target.serial, slot, counter32, secret, seed)
            .map_err(|_| AppError(ErrorKind::Internal))?;
        let now = state.now();
        let (ek, ct) = (&sealed.encapsulated_key, &sealed.ciphertext);
        let id = state.store.stage_delivery(target.key_id, target.slot, counter, ek, ct, now, staging).await?;
        staged.ids.push(id);
        staged.serials.push(target.serial);
    }
    Ok(())
}
