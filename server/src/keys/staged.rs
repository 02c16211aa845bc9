//! Settling deliveries staged behind a directory write that was never confirmed: the server
//! died, or lost its database, between writing the password to the directory and confirming
//! the keys' sealed copies. The directory's pwdLastSet decides, as for an interrupted change on
//! the key itself (`reconcile`): moved since the baseline, and nothing else explains it (no
//! administrator wrote since), the copy is delivered; moved but explained otherwise, or unmoved
//! after the grace period (the write never happened), it goes. A later write of the same
//! password confirmed meanwhile has already removed it (`Store::confirm_deliveries`).

use super::channel::Failure;
use super::reconcile::{self, Verdict};
use crate::directory::DirectoryError;
use crate::service::{audit, deliveries};
use crate::state::AppState;
use crate::store::{KeyRow, PendingDelivery};

/// A staged delivery the directory cannot be asked about for this long (the account was
/// renamed, moved or deleted) goes: its write can no longer be told.
const MAX_AGE_SECS: i64 = reconcile::MAX_AGE_SECS;

/// Settles `key`'s staged deliveries; what is confirmed is delivered with the others. One the
/// directory cannot be asked about now waits for the next connection.
pub async fn settle(state: &AppState, key: &KeyRow) -> Result<(), Failure> {
    let staged: Vec<PendingDelivery> =
        state.store.pending_deliveries(key.id).await?.into_iter().filter(|d| d.staged_for.is_some()).collect();
    if !staged.is_empty() {
        // The verdicts read the audit log (an administrator's write): what waits goes in first.
        crate::service::audit::drain_spool_before_reading(state).await;
    }
    let grace = deliveries::settle_grace_secs(state);
    for delivery in staged {
        let (Some(dn), Some(baseline)) = (&delivery.staged_for, delivery.staged_baseline) else { continue };
        let facts = match state.directory()?.account_facts(dn).await {
            Ok(facts) => facts,
            // The account is gone (renamed, moved, deleted), and has been for a week.
            Err(DirectoryError::Unexpected { rc: 32, .. }) if state.now() - delivery.created_at > MAX_AGE_SECS => {
                state.store.delete_delivery(delivery.id).await?;
                let (actor, nowhere) = (audit::key_actor(&key.serial), crate::session::ClientAddr(None));
                let dropped = audit::action::DELIVERY_DROPPED;
                audit::record_result(state, &actor, dropped, &key.serial, "unconfirmed", &nowhere).await;
                continue;
            }
            // The directory cannot be asked now: the next connection tries again.
            Err(_) => continue,
        };
        let verdict = if facts.password_last_set_ticks == baseline {
            Verdict::Unchanged
        } else if delivery.staged_by_reset != 0 {
            // An administrator's reset may leave pwdLastSet at 0 (must change): any move is it.
            Verdict::Changed
        } else {
            let username = facts.user.sam_account_name.clone();
            reconcile::verdict(state, &username, baseline, &facts, delivery.created_at).await?
        };
        let result = match verdict {
            Verdict::Unchanged if state.now() - delivery.created_at <= grace => continue,
            Verdict::Changed => {
                state.store.confirm_settled(delivery.id).await?;
                let change = match delivery.staged_action.as_deref() {
                    Some("admin_reset") => Some(audit::action::ADMIN_RESET),
                    Some("change_password") => Some(audit::action::CHANGE_PASSWORD),
                    // A key's journal records its own flows.
                    _ => None,
                };
                if let Some(change) = change {
                    record_the_change(state, change, &facts.user.sam_account_name, delivery.created_at).await?;
                }
                (audit::action::DELIVERY_QUEUED, "reconciled")
            }
            Verdict::Unchanged | Verdict::Ambiguous => {
                state.store.delete_delivery(delivery.id).await?;
                (audit::action::DELIVERY_DROPPED, "unconfirmed")
            }
        };
        tracing::info!(serial = %key.serial, ?verdict, "settled a staged delivery");
        let actor = audit::key_actor(&key.serial);
        audit::record_result(state, &actor, result.0, &key.serial, result.1, &crate::session::ClientAddr(None)).await;
    }
    Ok(())
}

/// The write itself, when the process that made it died (or lost its database) before it could
/// audit it: recorded now, by the server, once.
async fn record_the_change(state: &AppState, change: audit::Action, user: &str, since: i64) -> Result<(), Failure> {
    if state.store.succeeded_since(user, change.name(), since).await? {
        return Ok(());
    }
    let nowhere = crate::session::ClientAddr(None);
    audit::record_result(state, audit::SERVER_ACTOR, change, user, "success", &nowhere).await;
    Ok(())
}
