//! The audit log as the domain writes it: what happened, by whom, to whom, with which outcome
//! (\"success\" or the error's stable code). Actions are the constants in [`action`].

use crate::error::AppError;
use crate::session::ClientAddr;
use crate::state::AppState;
use crate::store::AuditEntry;

/// Does `work`, records its outcome under `action`, and hands it back: a handler that goes
/// through here cannot forget the audit entry.
pub async fn audited<T>(
    state: &AppState,
    actor: &str,
    action: Action,
    target: &str,
    addr: &ClientAddr,
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let outcome = work.await;
    record(state, actor, action, target, &outcome, addr).await;
    outcome
}

/// Records what happened. A failing audit write is logged, never hidden, but does not undo a
/// directory change that already happened.
pub async fn record<T>(
    state: &AppState,
    actor: &str,
    action: Action,
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
pub async fn record_result(
    state: &AppState,
    actor: &str,
    action: Action,
    target: &str,
    result: &str,
    addr: &ClientAddr,
) {
    let entry = AuditEntry {
        at: state.now(),
        actor: capped(actor),
        action: action.name().to_string(),
        target: capped(target),
        result: capped(result),
        client_addr: addr.label(),
    };
    tracing::info!(actor = %entry.actor, action = %entry.action, target = %entry.target, result = %entry.result, client = ?entry.client_addr, "audit");
    match state.store.audit(&entry).await {
        Ok(()) => {}
        // The database is away: the entry waits in the spool until it is back.
        Err(e) if crate::store::unreachable(&e) => match state.audit_spool.push(&state.store, &entry).await {
            Ok(()) => tracing::warn!(error = %e, "the audit log cannot be written: the entry is spooled"),
            Err(spool) => tracing::error!(error = %e, %spool, ?entry, "AUDIT WRITE FAILED"),
        },
        Err(e) => tracing::error!(error = %e, ?entry, "AUDIT WRITE FAILED"),
    }
}

/// Moves spooled entries into the audit log (see `store::AuditSpool`); how many moved.
pub async fn drain_spool(state: &AppState) -> usize {
    state.audit_spool.drain(&state.store).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the audit spool");
        0
    })
}

/// As [`drain_spool`], waiting a little for a drain under way: before a verdict that reads the
/// audit log (an administrator's write) must see what waited.
pub async fn drain_spool_before_reading(state: &AppState) {
    let wait = std::time::Duration::from_secs(5);
    if let Err(e) = state.audit_spool.drain_within(&state.store, wait).await {
        tracing::error!(error = %e, "cannot read the audit spool");
    }
}

/// Drains the spool every few seconds.
pub async fn drain_spool_every(state: AppState) {
    let mut ticks = tokio::time::interval(crate::store::AUDIT_SPOOL_DRAIN_EVERY);
    loop {
        ticks.tick().await;
        drain_spool(&state).await;
    }
}

/// An action the audit log records. Only the constants in [`action`] exist: an action is never
/// built from what a client sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Action(&'static str);

impl Action {
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// Every action the audit log records: its stable names.
pub mod action {
    use super::Action;

    pub const ADMIN_ADD_ACCOUNT: Action = Action("admin_add_account");
    pub const ADMIN_ASSIGN_KEY: Action = Action("admin_assign_key");
    pub const ADMIN_REGISTER_KEY: Action = Action("admin_register_key");
    pub const ADMIN_RESET: Action = Action("admin_reset");
    pub const ADMIN_SESSION_ENDED: Action = Action("admin_session_ended");
    pub const ADMIN_SET_FLAGS: Action = Action("admin_set_flags");
    pub const ADMIN_SET_LOCAL_FLAGS: Action = Action("admin_set_local_flags");
    pub const ADMIN_SYNC_EMPLOYEES: Action = Action("admin_sync_employees");
    pub const ADMIN_TOTP_ENROL: Action = Action("admin_totp_enrol");
    pub const ADMIN_TOTP_VERIFY: Action = Action("admin_totp_verify");
    pub const ADMIN_UNLOCK: Action = Action("admin_unlock");
    pub const BOOTSTRAP_ADMIN: Action = Action("bootstrap_admin");
    pub const CHANGE_PASSWORD: Action = Action("change_password");
    pub const KEY_CONNECT: Action = Action("key_connect");
    pub const KEY_SESSION: Action = Action("key_session");
    pub const KEY_SUSPENDED_BY_SYNC: Action = Action("key_suspended_by_sync");
    pub const SCHEDULED_SYNC: Action = Action("scheduled_sync");
    pub const SIGN_IN: Action = Action("sign_in");
    pub const SIGN_IN_WITH_KEY: Action = Action("sign_in_with_key");
    pub const SIGN_OUT: Action = Action("sign_out");
    pub const ADMIN_REGISTER_MANIFEST: Action = Action("admin_register_manifest");
    pub const ADMIN_KEY_READY: Action = Action("admin_key_ready");
    pub const ADMIN_KEY_ACTIVE: Action = Action("admin_key_active");
    pub const ADMIN_KEY_LOCKED: Action = Action("admin_key_locked");
    pub const ADMIN_KEY_SUSPENDED: Action = Action("admin_key_suspended");
    pub const ADMIN_KEY_DEACTIVATED: Action = Action("admin_key_deactivated");
    pub const ADMIN_KEY_COMPROMISED: Action = Action("admin_key_compromised");
    pub const ADMIN_KEY_STATUS: Action = Action("admin_key_status");
    pub const KEY_SIGN_IN: Action = Action("key_sign_in");
    pub const KEY_ONBOARD: Action = Action("key_onboard");
    pub const KEY_CHANGE_ON_KEY: Action = Action("key_change_on_key");
    pub const KEY_CHANGE_EVERYWHERE: Action = Action("key_change_everywhere");
    pub const KEY_OPERATION: Action = Action("key_operation");
    pub const DELIVERY_QUEUED: Action = Action("delivery_queued");
    pub const DELIVERY_TAKEN: Action = Action("delivery_taken");
    pub const DELIVERY_DROPPED: Action = Action("delivery_dropped");
    pub const STEP_UP_TOTP: Action = Action("step_up_totp");
    pub const STEP_UP_KEY: Action = Action("step_up_key");
    pub const TOTP_ENROL: Action = Action("totp_enrol");
    pub const ADMIN_TOTP_RESET: Action = Action("admin_totp_reset");
    pub const MAIL_REMINDERS: Action = Action("mail_reminders");
    pub const RECOVERY_UNLOCK: Action = Action("recovery_unlock");
    pub const RECOVERY_RESET_WITH_KEY: Action = Action("recovery_reset_with_key");
    pub const RECOVERY_CODE: Action = Action("recovery_code");
    pub const RECOVERY_RESET_WITHOUT_KEY: Action = Action("recovery_reset_without_key");
    pub const KEY_REPORTED: Action = Action("key_reported");
}

/// The actor of what the server does on its own (a scheduled sync, a sealed delivery).
pub const SERVER_ACTOR: &str = "latchkey";

/// How a key appears as the actor: one spelling everywhere.
pub fn key_actor(serial: &str) -> String {
    format!("key:{serial}")
}

/// Longest text an audit field keeps: names and serials are far shorter; whatever a client sent
/// beyond it is cut (at a character boundary) and marked, so nobody fills the log.
pub const MAX_FIELD_CHARS: usize = 256;

/// At most `MAX_FIELD_CHARS` characters, control characters (which PostgreSQL's text refuses,
/// or which would break a log line) shown as U+FFFD.
fn capped(text: &str) -> String {
    let shown = |s: &str| s.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect::<String>();
    match text.char_indices().nth(MAX_FIELD_CHARS) {
        None => shown(text),
        Some((end, _)) => format!("{}…", shown(&text[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_never_audited_as_such() {
        assert_eq!(capped("x\u{0}y\nz"), "x\u{FFFD}y\u{FFFD}z");
        assert_eq!(capped("Zoë Ärger"), "Zoë Ärger", "letters pass as they are");
    }

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
