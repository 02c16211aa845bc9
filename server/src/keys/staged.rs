//! Settling deliveries staged behind a directory write that was never confirmed: the server
//! died, or lost its database, between writing the password to the directory and confirming
//! the keys' sealed copies. The directory's pwdLastSet decides, as for an interrupted change on
//! the key itself (`reconcile`): moved since the baseline, and nothing else explains it, the
//! copy is delivered; unmoved after the grace period, the write never happened and it goes.

use super::channel::Failure;
use super::reconcile::{self, Verdict};
use crate::service::audit;
use crate::state::AppState;
use crate::store::{KeyRow, PendingDelivery};

/// How long an unmoved pwdLastSet may still mean "the write is in flight" (well beyond any
/// directory operation's timeout); after it, the write never happened.
pub const GRACE_SECS: i64 = 120;

/// Settles `key`'s staged deliveries; what is confirmed is delivered with the others. One the
/// directory cannot be asked about now waits for the next connection.
pub async fn settle(state: &AppState, key: &KeyRow) -> Result<(), Failure> {
    let staged: Vec<PendingDelivery> =
        state.store.pending_deliveries(key.id).await?.into_iter().filter(|d| d.staged_for.is_some()).collect();
    for delivery in staged {
        let (Some(dn), Some(baseline)) = (&delivery.staged_for, delivery.staged_baseline) else { continue };
        let Ok(facts) = state.directory()?.account_facts(dn).await else { continue };
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
            Verdict::Unchanged if state.now() - delivery.created_at <= GRACE_SECS => continue,
            Verdict::Changed => {
                state.store.confirm_deliveries(&[delivery.id]).await?;
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
