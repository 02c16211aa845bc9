//! One session per key at a time, across every replica: a lease in the store, renewed while the
//! session lives and given back when it ends; a replica that dies lets it run out.

use std::time::Duration;

use latchkey_api::key_refusal::KeyRefusal;

use super::channel::Failure;
use crate::state::AppState;

/// How long a lease lasts unless renewed; renewed at a third of it.
const LEASE_SECS: i64 = 30;
/// How long a second session waits for the first to end (a reconnect after a lost link comes
/// while the old session is still finishing its step).
const WAIT: Duration = Duration::from_secs(10);

/// A key's session slot, held for the session's length.
pub struct KeyLease {
    state: AppState,
    serial: String,
    holder: String,
    renewal: tokio::task::JoinHandle<()>,
}

impl KeyLease {
    pub async fn take(state: &AppState, serial: &str) -> Result<KeyLease, Failure> {
        let holder = crate::session::new_token();
        let started = tokio::time::Instant::now();
        loop {
            let now = state.now();
            if state.store.take_key_lease(serial, &holder, now, now + LEASE_SECS).await? {
                break;
            }
            if started.elapsed() > WAIT {
                return Err(Failure(KeyRefusal::KeyBusy { serial: serial.to_string() }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let renewal = tokio::spawn(renew(state.clone(), serial.to_string(), holder.clone()));
        Ok(KeyLease { state: state.clone(), serial: serial.to_string(), holder, renewal })
    }
}

async fn renew(state: AppState, serial: String, holder: String) {
    let mut ticks = tokio::time::interval(Duration::from_secs((LEASE_SECS / 3) as u64));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let now = state.now();
        match state.store.take_key_lease(&serial, &holder, now, now + LEASE_SECS).await {
            Ok(true) => {}
            Ok(false) => tracing::error!(%serial, "a key's session lease was taken over while in use"),
            Err(e) => tracing::warn!(%serial, error = %e, "cannot renew a key's session lease"),
        }
    }
}

impl Drop for KeyLease {
    fn drop(&mut self) {
        self.renewal.abort();
        let (state, serial, holder) =
            (self.state.clone(), std::mem::take(&mut self.serial), std::mem::take(&mut self.holder));
        tokio::spawn(async move {
            if let Err(e) = state.store.release_key_lease(&serial, &holder).await {
                tracing::warn!(%serial, error = %e, "cannot give a key's session lease back; it runs out");
            }
        });
    }
}
