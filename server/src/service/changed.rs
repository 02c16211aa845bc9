//! What follows a password change, whichever flow made it (the password page, a key flow, an
//! administrator's reset): the old password's sessions end and the employee's keys receive the
//! new one, sealed. The change itself is done by then: a failure here is logged, never
//! reported as a failed change.

use latchkey_protocol::message::Secret;

use crate::state::AppState;
use crate::store::{Principal, SessionRow};

/// After the user changed their own password in `session`: their other sessions end, a change
/// the session required is satisfied, and the employee's keys (but `except_key`, which holds it
/// already) get it sealed. How many sessions ended, and the serials the password was queued for.
pub async fn own_change(
    state: &AppState,
    session: &SessionRow,
    employee_id: Option<i64>,
    new: &Secret,
    except_key: Option<i64>,
) -> (u64, Vec<String>) {
    let principal = session.principal();
    let sessions_ended = state.store.end_other_sessions(&principal, &session.token_hash).await.unwrap_or_else(|e| {
        tracing::error!(user = %session.username, error = %e, "the user's other sessions could not be ended");
        0
    });
    if let Err(e) = state.store.clear_change_required(&session.token_hash).await {
        tracing::error!(user = %session.username, error = %e, "the session's required change could not be cleared");
    }
    let queued_for = match employee_id {
        Some(id) => seal(state, &session.username, id, new, except_key).await,
        None => Vec::new(),
    };
    (sessions_ended, queued_for)
}

/// After an administrator set a directory user's password: every session of the user ends
/// and each of the employee's keys gets the password sealed; the serials it was queued for.
pub async fn reset(state: &AppState, username: &str, dn: &str, employee_id: i64, new: &Secret) -> Vec<String> {
    let queued_for = seal(state, username, employee_id, new, None).await;
    if let Err(e) = state.store.end_other_sessions(&Principal::Directory { dn: dn.to_string() }, "").await {
        tracing::error!(user = %username, error = %e, "the user's sessions could not be ended after a reset");
    }
    queued_for
}

async fn seal(
    state: &AppState,
    username: &str,
    employee_id: i64,
    new: &Secret,
    except_key: Option<i64>,
) -> Vec<String> {
    super::deliveries::seal_to_keys(state, employee_id, new, except_key).await.unwrap_or_else(|e| {
        tracing::error!(user = %username, code = e.code(), "the new password could not be sealed to the keys");
        Vec::new()
    })
}
