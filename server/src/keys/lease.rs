//! One session per key at a time, in this process.

use crate::state::AppState;

use super::channel::Failure;
use latchkey_api::key_refusal::KeyRefusal;

/// A key's session slot, held for the session's length.
pub struct KeyLease {
    state: AppState,
    serial: String,
}

impl KeyLease {
    /// Waits a little for a session that is ending (a reconnect after a lost link comes
    /// while the old session is still finishing its step).
    pub async fn take(state: &AppState, serial: &str) -> Result<KeyLease, Failure> {
        for _ in 0..200 {
            if state.busy_keys.lock().unwrap_or_else(|e| e.into_inner()).insert(serial.to_string()) {
                return Ok(KeyLease { state: state.clone(), serial: serial.to_string() });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(Failure(KeyRefusal::KeyBusy { serial: serial.to_string() }))
    }
}

impl Drop for KeyLease {
    fn drop(&mut self) {
        self.state.busy_keys.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.serial);
    }
}
