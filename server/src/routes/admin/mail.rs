//! `/api/admin/mail`: whether mail is set up, the reminder job's last run, the latest messages
//! and what became of them; and a reminder run started by hand.

use axum::extract::State;
use axum::Json;
use latchkey_api::admin::{JobRunView, MailOverview, MailView, ReminderRun};

use super::Admin;
use crate::error::AppError;
use crate::routes::ApiJson;
use crate::service::{audit, mail};
use crate::session::ClientAddr;
use crate::state::AppState;

const SHOWN: i64 = 50;

#[utoipa::path(get, path = "/admin/mail", tag = "admin", responses((status = 200, description = "The outbox and the last reminder run", body = MailOverview), crate::routes::openapi::Refusals))]
pub async fn overview(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<MailOverview>, AppError> {
    let last = state.store.last_job_run(mail::REMINDER_JOB).await?;
    let messages = state
        .store
        .recent_mail(SHOWN)
        .await?
        .into_iter()
        .map(|m| MailView {
            id: m.id,
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            queued_at: m.queued_at,
            sent_at: m.sent_at,
            attempts: u32::try_from(m.attempts).unwrap_or(u32::MAX),
            last_error: m.last_error,
            next_attempt_at: (m.sent_at.is_none() && m.gave_up == 0).then_some(m.next_attempt_at),
            gave_up: m.gave_up != 0,
        })
        .collect();
    Ok(Json(MailOverview {
        configured: state.config.mail.is_some(),
        last_reminder_run: last.and_then(|r| {
            Some(JobRunView {
                started_at: r.started_at?,
                finished_at: r.finished_at,
                summary: r.summary.unwrap_or_default(),
            })
        }),
        failing: u64::try_from(state.store.failing_mail().await?).unwrap_or(0),
        messages,
    }))
}

#[utoipa::path(post, path = "/admin/mail/reminders", tag = "admin", request_body = serde_json::Value, responses((status = 200, description = "Reminders queued now", body = ReminderRun), crate::routes::openapi::Refusals))]
pub async fn run_reminders(
    State(state): State<AppState>,
    addr: ClientAddr,
    Admin(admin): Admin,
    ApiJson(_): ApiJson<serde_json::Value>,
) -> Result<Json<ReminderRun>, AppError> {
    audit::audited(&state, &admin.username, audit::action::MAIL_REMINDERS, "reminders", &addr, mail::reminders(&state))
        .await
        .map(Json)
}
