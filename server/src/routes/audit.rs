use crate::error::AppError;
use crate::session::ClientAddr;
use crate::state::AppState;
use crate::store::AuditEntry;

/// Records what happened. A failing audit write is logged, never hidden, but does not undo a
/// directory change that already happened.
pub async fn record<T>(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    outcome: &Result<T, AppError>,
    addr: &ClientAddr,
) {
    let result = match outcome {
        Ok(_) => "success",
        Err(e) => e.code(),
    };
    record_result(state, actor, action, target, result, addr).await
}

/// Records an outcome named by its code ("success" or an error code).
pub async fn record_result(state: &AppState, actor: &str, action: &str, target: &str, result: &str, addr: &ClientAddr) {
    let entry = AuditEntry {
        at: state.now(),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        result: result.to_string(),
        client_addr: addr.label(),
    };
    tracing::info!(actor, action, target, result = %entry.result, client = ?entry.client_addr, "audit");
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, ?entry, "AUDIT WRITE FAILED");
    }
}
