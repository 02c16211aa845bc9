//! One session per key at a time, in this process.

use crate::state::AppState;

use super::channel::Failure;

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
        Err(Failure::new(
            "key_busy",
            format!("Key {serial} is already in a session (another tab or device?). Close it and try again."),
        ))
    }
}

impl Drop for KeyLease {
    fn drop(&mut self) {
        self.state.busy_keys.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.serial);
    }
}
