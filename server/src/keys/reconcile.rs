//! Finishing or undoing a change that a lost connection interrupted. The directory's pwdLastSet
//! decides: if it moved since the change began, the directory took the new password and the
//! key commits it; otherwise the key drops it. No password is tried against the directory.

use latchkey_protocol::message::{Command, KeyError};

use super::channel::{key_error_message, Channel, Failure};
use crate::state::AppState;
use crate::store::{KeyRow, Step};

/// Reconciles every open change of `key`; returns what to tell the user, if anything happened.
pub async fn open_changes(ch: &mut Channel, state: &AppState, key: &KeyRow) -> Result<Option<String>, Failure> {
    let mut notice = None;
    for change in state.store.open_changes(key.id).await? {
        let slot = u16::try_from(change.slot).map_err(|_| Failure::internal())?;
        // A change whose staging the key never confirmed did not reach the directory.
        let directory_changed = if change.step == Step::Started.label() {
            false
        } else {
            let facts = state.directory()?.account_facts(&change.user_dn).await?;
            facts.password_last_set_ticks != change.pwd_last_set_before
        };
        let (command, step, message) = if directory_changed {
            (
                Command::Commit { id: slot },
                Step::Committed,
                "Your interrupted password change went through: the key now holds the new password.",
            )
        } else {
            (
                Command::Abort { id: slot },
                Step::Aborted,
                "Your interrupted password change was undone: the directory and the key keep the old password.",
            )
        };
        match ch.call_one(command).await? {
            Ok(_) | Err(KeyError::NoSuchAccount) => {}
            Err(e) => return Err(Failure::new("key_error", key_error_message(e))),
        }
        state.store.journal_step(change.id, step, state.now()).await?;
        tracing::info!(serial = %key.serial, slot, step = step.label(), "reconciled an interrupted change");
        notice = Some(message.to_string());
    }
    Ok(notice)
}
