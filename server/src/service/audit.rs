//! The audit log as the domain writes it: what happened, by whom, to whom, with which outcome
//! (\"success\" or the error's stable code). Actions are the constants in [`action`].

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
        actor: capped(actor),
        action: capped(action),
        target: capped(target),
        result: capped(result),
        client_addr: addr.label(),
    };
    tracing::info!(actor = %entry.actor, action = %entry.action, target = %entry.target, result = %entry.result, client = ?entry.client_addr, "audit");
    if let Err(e) = state.store.audit(&entry).await {
        tracing::error!(error = %e, ?entry, "AUDIT WRITE FAILED");
    }
}

/// Longest text an audit field keeps: names and serials are far shorter; whatever a client sent
/// beyond it is cut (at a character boundary) and marked, so nobody fills the log.
pub const MAX_FIELD_CHARS: usize = 256;

fn capped(text: &str) -> String {
    match text.char_indices().nth(MAX_FIELD_CHARS) {
        None => text.to_string(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audited_text_is_capped_at_a_character_boundary() {
        assert_eq!(capped("alice"), "alice");
        let long = "é".repeat(16 * 1024);
        let cut = capped(&long);
        assert_eq!(cut.chars().count(), MAX_FIELD_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(capped(&"x".repeat(MAX_FIELD_CHARS)), "x".repeat(MAX_FIELD_CHARS));
    }
}
