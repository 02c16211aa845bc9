//! Finishing or undoing a change that a lost connection interrupted. The directory's pwdLastSet
//! decides, when nothing else can explain it: it moved since the change's baseline (read right
//! before the directory write), it is not 0 ("must change"), and no administrator reset the
//! password or set its flags since. Then the key commits; otherwise it keeps the old password,
//! and when a move cannot be explained the user is asked to store their current password again.
//! No password is tried against the directory. A change journaled as written to the directory
//! always commits; one staged and older than a week settles aborted as unconfirmable.

use latchkey_protocol::message::{AccountListing, Command, KeyError};

use super::channel::{Channel, Failure};
use crate::directory::AccountFacts;
use crate::service::audit;
use crate::session::ClientAddr;
use crate::state::AppState;
use crate::store::{KeyRow, Step};

/// An open change older than this is settled as aborted (the key keeps the old password).
pub const MAX_AGE_SECS: i64 = 7 * 86_400;

/// What the directory says of a change begun at `before` (pwdLastSet then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Our password went in.
    Changed,
    /// Nothing moved: it did not.
    Unchanged,
    /// Something moved that we cannot attribute to the change.
    Ambiguous,
}

/// The rule, pure: `admin_wrote` tells whether an administrator wrote to the account since.
pub fn judge(before: i64, after: &AccountFacts, admin_wrote: bool) -> Verdict {
    if after.password_last_set_ticks == before {
        Verdict::Unchanged
    } else if after.password_last_set_ticks <= 0 || admin_wrote {
        Verdict::Ambiguous
    } else {
        Verdict::Changed
    }
}

/// What the journal alone settles, before the directory is asked: `None` when it cannot.
pub fn by_journal(step: &str, started_at: i64, now: i64) -> Option<Verdict> {
    if step == Step::DirectoryChanged.label() {
        // Written to the directory for sure: the key commits, however old the entry.
        Some(Verdict::Changed)
    } else if step == Step::Started.label() {
        // Never staged: the key keeps the old password.
        Some(Verdict::Unchanged)
    } else if now - started_at > MAX_AGE_SECS {
        // Staged and left a week: too much may have happened since to tell; the key keeps the
        // old password and the user is told to store the current one if it no longer works.
        Some(Verdict::Ambiguous)
    } else {
        None
    }
}

pub async fn verdict(
    state: &AppState,
    username: &str,
    before: i64,
    after: &AccountFacts,
    since: i64,
) -> Result<Verdict, Failure> {
    let admin_wrote = state.store.admin_wrote_since(username, since).await?;
    Ok(judge(before, after, admin_wrote))
}

/// Reconciles every open change of `key`; returns what to tell the user, if anything happened.
pub async fn open_changes(ch: &mut Channel, state: &AppState, key: &KeyRow) -> Result<Option<String>, Failure> {
    let mut notice = None;
    let open = state.store.open_changes(key.id).await?;
    if !open.is_empty() {
        // The verdicts read the audit log (an administrator's write): what waits goes in first.
        crate::service::audit::drain_spool_before_reading(state).await;
    }
    for change in open {
        let slot = u16::try_from(change.slot).map_err(|_| Failure::internal())?;
        let verdict = match by_journal(&change.step, change.started_at, state.now()) {
            Some(verdict) => verdict,
            None => {
                let facts = state.directory()?.account_facts(&change.user_dn).await?;
                let username = facts.user.sam_account_name.clone();
                verdict(state, &username, change.pwd_last_set_before, &facts, change.started_at).await?
            }
        };
        let (command, step, message) = match verdict {
            Verdict::Changed => (
                Command::Commit { id: slot },
                Step::Committed,
                "Your interrupted password change went through: the key now holds the new password.",
            ),
            Verdict::Unchanged => (
                Command::Abort { id: slot },
                Step::Aborted,
                "Your interrupted password change was undone: the directory and the key keep the old password.",
            ),
            Verdict::Ambiguous => (
                Command::Abort { id: slot },
                Step::Aborted,
                "Your interrupted password change could not be confirmed: your password was also changed \
                 another way meanwhile. The key keeps the previous password; if it no longer works, store \
                 your current password on the key again.",
            ),
        };
        match ch.call_one(command).await? {
            Ok(_) | Err(KeyError::NoSuchAccount) => {}
            Err(e) => return Err(Failure::key(e)),
        }
        state.store.journal_step(change.id, step, state.now()).await?;
        // The interrupted flow never wrote its own audit entry (its process may have died, or
        // its database been gone): the change's fate is recorded here, as it was settled.
        let result = match verdict {
            Verdict::Changed => "reconciled_committed",
            Verdict::Unchanged => "reconciled_aborted",
            Verdict::Ambiguous => "reconciled_unconfirmed",
        };
        let (actor, nowhere) = (audit::key_actor(&key.serial), ClientAddr(None));
        audit::record_result(state, &actor, audit::action::KEY_CHANGE_EVERYWHERE, &key.serial, result, &nowhere).await;
        tracing::info!(serial = %key.serial, slot, step = step.label(), ?verdict, "reconciled an interrupted change");
        notice = Some(message.to_string());
    }
    Ok(notice)
}

/// Drops what the key keeps staged once every open change is settled. A staged password that
/// no open change explains belongs to a change settled as aborted whose `Abort` never reached
/// the key (its page closed or its link dropped while the directory refused or did not answer,
/// or its process died in between): it must not wait on the key for a later `Commit`. Returns
/// what to tell the user when something was dropped; the key's new listing is the channel's.
pub async fn leftover_staged(
    ch: &mut Channel,
    state: &AppState,
    key: &KeyRow,
    listed: &[AccountListing],
) -> Result<Option<String>, Failure> {
    let aborts: Vec<Command> =
        listed.iter().filter(|l| l.has_staged).map(|l| Command::Abort { id: l.account.id }).collect();
    if aborts.is_empty() {
        return Ok(None);
    }
    for result in ch.call_batch_and_list(aborts).await? {
        match result {
            Ok(_) | Err(KeyError::NoSuchAccount) => {}
            Err(e) => return Err(Failure::key(e)),
        }
    }
    tracing::info!(serial = %key.serial, "dropped a staged password no open change explains");
    let (actor, nowhere) = (audit::key_actor(&key.serial), ClientAddr(None));
    let action = audit::action::KEY_CHANGE_EVERYWHERE;
    audit::record_result(state, &actor, action, &key.serial, "leftover_staged_dropped", &nowhere).await;
    Ok(Some("A password change that was interrupted did not go through: the key keeps the password it had.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(ticks: i64) -> AccountFacts {
        AccountFacts { password_last_set_ticks: ticks, change_required: ticks == 0, ..AccountFacts::sample() }
    }

    #[test]
    fn the_journal_settles_what_it_can_and_asks_the_directory_for_the_rest() {
        let (started, week) = (1_000_000, MAX_AGE_SECS);
        assert_eq!(week, 7 * 86_400);
        let staged = Step::Staged.label();
        assert_eq!(by_journal(Step::DirectoryChanged.label(), started, started + 10 * week), Some(Verdict::Changed));
        assert_eq!(by_journal(Step::Started.label(), started, started + 1), Some(Verdict::Unchanged));
        assert_eq!(by_journal(staged, started, started + 1), None, "staged and recent: ask the directory");
        assert_eq!(by_journal(staged, started, started + week), None, "a week to the second is still recent");
        assert_eq!(by_journal(staged, started, started + week + 1), Some(Verdict::Ambiguous));
    }

    #[test]
    fn only_a_move_nothing_else_explains_commits() {
        let before = 133_000_000_000_000_000;
        assert_eq!(judge(before, &after(before), false), Verdict::Unchanged);
        assert_eq!(judge(before, &after(before + 10), false), Verdict::Changed);
        assert_eq!(judge(before, &after(0), false), Verdict::Ambiguous, "an administrator's must-change");
        assert_eq!(judge(before, &after(before + 10), true), Verdict::Ambiguous, "an administrator wrote");
        assert_eq!(judge(before, &after(before), true), Verdict::Unchanged);
    }
}
