//! Around a password change, whichever flow makes it (the password page, a key flow, an
//! administrator's reset). Before the directory write, the new password is sealed to the
//! employee's keys, staged (`stage`); after it, the old password's sessions end and the staged
//! deliveries are confirmed. Once the directory took the password a failure here is logged, never
//! reported as a failed change: what stays staged is settled on the key's next connection.

use latchkey_protocol::message::Secret;

use super::deliveries::{self, Staged};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{Principal, SessionRow, Staging};

/// Seals `new` to the keys of `employee_id` (but `except_key`, which gets it in the same flow),
/// staged behind the directory write `staging` describes. Refused (and nothing written) when
/// the store cannot keep them: a change the keys would miss is not made.
pub async fn stage(
    state: &AppState,
    employee_id: Option<i64>,
    new: &Secret,
    except_key: Option<i64>,
    staging: &Staging,
) -> Result<Staged, AppError> {
    match employee_id {
        Some(id) => deliveries::stage_to_keys(state, id, new, except_key, staging).await,
        None => Ok(Staged::none()),
    }
}

/// After the user changed their own password in `session`: their other sessions end, a change
/// the session required is satisfied, and the staged deliveries go to the keys. How many
/// sessions ended, and the serials the password was queued for.
pub async fn own_change(state: &AppState, session: &SessionRow, staged: Staged) -> (u64, Vec<String>) {
    let principal = session.principal();
    let sessions_ended = state.store.end_other_sessions(&principal, &session.token_hash).await.unwrap_or_else(|e| {
        tracing::error!(user = %session.username, error = %e, "the user's other sessions could not be ended");
        0
    });
    if let Err(e) = state.store.clear_change_required(&session.token_hash).await {
        tracing::error!(user = %session.username, error = %e, "the session's required change could not be cleared");
    }
    (sessions_ended, confirm(state, &session.username, staged).await)
}

/// After an administrator set a directory user's password: every session of the user ends
/// and the staged deliveries go to the keys; the serials it was queued for.
pub async fn reset(state: &AppState, username: &str, dn: &str, staged: Staged) -> Vec<String> {
    let queued_for = confirm(state, username, staged).await;
    if let Err(e) = state.store.end_other_sessions(&Principal::Directory { dn: dn.to_string() }, "").await {
        tracing::error!(user = %username, error = %e, "the user's sessions could not be ended after a reset");
    }
    queued_for
}

async fn confirm(state: &AppState, username: &str, staged: Staged) -> Vec<String> {
    staged.confirm(state).await.unwrap_or_else(|e| {
        tracing::error!(user = %username, code = e.code(), "staged deliveries wait for the keys' next connection to settle");
        Vec::new()
    })
}
