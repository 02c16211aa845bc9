//! One session per key at a time, across every replica: a lease in the store, renewed while the
//! session lives and given back when it ends; a replica that dies lets it run out.

use std::time::Duration;

use latchkey_api::key_refusal::KeyRefusal;

use super::channel::Failure;
use crate::state::AppState;

/// How long a second session waits for the first to end (a reconnect after a lost link comes
/// while the old session is still finishing its step).
const WAIT: Duration = Duration::from_secs(10);

/// A key's session slot, held for the session's length.
pub struct KeyLease {
    /// Tells the holding task to give the lease back and end; it alone writes the lease, so a
    /// renewal in flight can never land after the release.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl KeyLease {
    pub async fn take(state: &AppState, serial: &str) -> Result<KeyLease, Failure> {
        let holder = crate::session::new_token();
        let lease = lease_secs(state);
        let started = tokio::time::Instant::now();
        loop {
            let now = state.now();
            if state.store.take_key_lease(serial, &holder, now, now + lease).await? {
                break;
            }
            if started.elapsed() > WAIT {
                return Err(Failure(KeyRefusal::KeyBusy { serial: serial.to_string() }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(hold(state.clone(), serial.to_string(), holder, stopped));
        Ok(KeyLease { stop: Some(stop) })
    }
}

/// How long a lease lasts unless renewed (`key_lease_secs`); renewed at a third of it.
fn lease_secs(state: &AppState) -> i64 {
    i64::try_from(state.config.key_lease_secs).unwrap_or(i64::MAX / 2).max(1)
}

/// Renews the lease until the session ends (its `KeyLease` dropped), then gives it back.
async fn hold(state: AppState, serial: String, holder: String, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    let lease = lease_secs(&state);
    let mut ticks = tokio::time::interval(Duration::from_secs((lease as u64 / 3).max(1)));
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = ticks.tick() => {}
        }
        let now = state.now();
        match state.store.take_key_lease(&serial, &holder, now, now + lease).await {
            Ok(true) => {}
            Ok(false) => tracing::error!(%serial, "a key's session lease was taken over while in use"),
            Err(e) => tracing::warn!(%serial, error = %e, "cannot renew a key's session lease"),
        }
    }
    if let Err(e) = state.store.release_key_lease(&serial, &holder).await {
        tracing::warn!(%serial, error = %e, "cannot give a key's session lease back; it runs out");
    }
}

impl Drop for KeyLease {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
