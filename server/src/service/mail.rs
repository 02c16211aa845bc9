//! Sending what the outbox holds, and the expiry reminders.
//!
//! - The sender claims due messages (one replica wins each), sends them, and on a failure
//!   retries with back-off (`retry_secs`, doubling) until `max_attempts`; administrators see
//!   every failure. It wakes when something is queued, and every `SWEEP_SECS` regardless.
//! - The reminder job runs on one replica at a time (a lease in the store). It reads the
//!   employee group's members from the directory, and for each whose password expires within
//!   `reminder_days` (per account, msDS-UserPasswordExpiryTimeComputed, so fine-grained
//!   policies count) queues one reminder a day, keyed by employee and date: a second run, a
//!   restart or another replica adds nothing that day. Disabled accounts, passwords that never
//!   expire and users who may not change theirs are skipped.

use std::time::Duration;

use latchkey_api::admin::ReminderRun;

use crate::error::AppError;
use crate::mail::{Mailer, Outgoing, Rendered, Wording};
use crate::state::AppState;
use crate::store::{MailKind, NewMail};

const SWEEP_SECS: u64 = 30;
/// How long a claimed message is left to its sender before another may try it.
const CLAIM_SECS: i64 = 120;
pub const REMINDER_JOB: &str = "reminders";
/// How long a reminder run may hold the job before another replica may take it over.
const REMINDER_LEASE_SECS: i64 = 15 * 60;
const DAY: i64 = 86_400;

pub fn wording(state: &AppState) -> Wording<'_> {
    Wording {
        organisation: &state.config.organisation_name,
        help_contact: &state.config.help_contact,
        public_url: state.config.public_url.as_deref(),
    }
}

/// Queues `rendered` for `to` (once ever, with a `dedupe_key`) and wakes the sender; whether
/// it was queued.
pub async fn queue(
    state: &AppState,
    kind: MailKind,
    to: &str,
    rendered: &Rendered,
    dedupe_key: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let mail = NewMail {
        kind,
        recipient: to,
        subject: &rendered.subject,
        body_text: &rendered.text,
        body_html: &rendered.html,
        dedupe_key,
    };
    let queued = state.store.queue_mail(&mail, state.now()).await?;
    if queued {
        state.mail_wake.notify_one();
    }
    Ok(queued)
}

/// Sends what is due, for as long as the server runs.
pub async fn sender(state: AppState) {
    let Some(mailer) = &state.mailer else { return };
    loop {
        if let Err(e) = send_due(&state, mailer).await {
            tracing::warn!(error = %e, "the mail outbox cannot be read");
        }
        // Until the next retry is due, or something new is queued; a sweep at least.
        let next = state.store.next_mail_due().await.ok().flatten().map(|due| (due - state.now()).max(1) as u64);
        let wait = next.unwrap_or(SWEEP_SECS).min(SWEEP_SECS);
        let _ = tokio::time::timeout(Duration::from_secs(wait), state.mail_wake.notified()).await;
    }
}

/// Sends every message due now; how many went out.
pub async fn send_due(state: &AppState, mailer: &Mailer) -> Result<usize, sqlx::Error> {
    let Some(config) = &state.config.mail else { return Ok(0) };
    let mut sent = 0;
    let holder = format!("{}:{}", std::process::id(), crate::session::new_token());
    loop {
        // One at a time: a claim outlives the send it covers.
        let batch = state.store.claim_due_mail(&holder, state.now(), CLAIM_SECS, 1).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for mail in batch {
            let outgoing =
                Outgoing { to: &mail.recipient, subject: &mail.subject, text: &mail.body_text, html: &mail.body_html };
            match mailer.send(&outgoing).await {
                Ok(()) => {
                    state.store.mail_sent(mail.id, &holder, state.now()).await?;
                    sent += 1;
                }
                Err(e) => {
                    let attempt = u32::try_from(mail.attempts).unwrap_or(u32::MAX);
                    let retry_at = config.retry_after(attempt).map(|secs| state.now() + secs as i64);
                    tracing::warn!(id = mail.id, to = %mail.recipient, attempt, error = %e, ?retry_at, "a message could not be sent");
                    state.store.mail_failed(mail.id, &holder, &format!("{e}"), retry_at).await?;
                }
            }
        }
    }
}

/// Runs the reminder job every `reminder_interval_secs`.
pub async fn reminders_every(state: AppState, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = reminders(&state).await {
            tracing::warn!(error = %e.0.message(), "the reminder run failed; next try in {interval:?}");
        }
    }
}

/// One reminder run, unless another replica is running it.
pub async fn reminders(state: &AppState) -> Result<ReminderRun, AppError> {
    let Some(config) = &state.config.mail else { return Err(AppError(latchkey_api::ErrorKind::MailNotConfigured)) };
    let holder = format!("{}:{}", std::process::id(), crate::session::new_token());
    let now = state.now();
    if !state.store.take_job_lease(REMINDER_JOB, &holder, now, now + REMINDER_LEASE_SECS).await? {
        return Ok(ReminderRun { queued: 0, skipped: 0, ran: false });
    }
    let outcome = remind(state, i64::from(config.reminder_days)).await;
    let summary = match &outcome {
        Ok(run) => format!("{} reminders queued, {} skipped", run.queued, run.skipped),
        Err(e) => format!("failed: {}", e.0.message()),
    };
    state.store.finish_job(REMINDER_JOB, &holder, state.now(), &summary, 0).await?;
    outcome
}

async fn remind(state: &AppState, days: i64) -> Result<ReminderRun, AppError> {
    let group = state.config.employee_group.as_ref().or(state.config.admin_group.as_ref()).ok_or_else(|| {
        tracing::error!("no employee group is configured: reminders have nobody to go to");
        AppError(latchkey_api::ErrorKind::Misconfigured)
    })?;
    let directory = state.directory()?;
    let now = state.now();
    let today = chrono::DateTime::from_timestamp(now, 0).map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let mut run = ReminderRun { queued: 0, skipped: 0, ran: true };
    for member in directory.group_members(group).await? {
        let Some(expires_at) = member.password_expires_at else { continue };
        let days_left = days_until(now, expires_at);
        if member.disabled || days_left < 1 || days_left > days {
            continue;
        }
        // The member list is a snapshot: the account is read again before anyone is told.
        let facts = directory.account_facts(&member.user.dn).await?;
        let (Some(to), Some(expires_at), true, false) =
            (&facts.mail, facts.expires_at, facts.may_change, facts.disabled)
        else {
            run.skipped += 1;
            continue;
        };
        let days_left = days_until(now, expires_at);
        let rendered = wording(state).reminder(facts.user.greeting_name(), days_left, expires_at);
        let key = format!("reminder:{}:{today}", facts.user.object_guid);
        if queue(state, MailKind::Reminder, to, &rendered, Some(&key)).await? {
            run.queued += 1;
        } else {
            run.skipped += 1;
        }
    }
    Ok(run)
}

/// Whole days left, rounded up: a password expiring in 23 hours has 1 day left.
fn days_until(now: i64, expires_at: i64) -> i64 {
    (expires_at - now + DAY - 1).div_euclid(DAY)
}

/// `latchkey-server mail test --to ADDR`: sends one message now, bypassing the outbox.
pub async fn send_test(state: &AppState, mailer: &Mailer, to: &str) -> anyhow::Result<()> {
    let rendered = wording(state).test();
    mailer.send(&Outgoing { to, subject: &rendered.subject, text: &rendered.text, html: &rendered.html }).await
}

#[cfg(test)]
mod tests {
    use super::days_until;

    #[test]
    fn days_left_round_up() {
        assert_eq!(days_until(0, 1), 1);
        assert_eq!(days_until(0, 86_400), 1);
        assert_eq!(days_until(0, 86_401), 2);
        assert_eq!(days_until(0, 7 * 86_400 - 30), 7);
        assert_eq!(days_until(100, 100), 0, "expired now");
    }
}
