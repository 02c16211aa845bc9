//! The mail outbox and the scheduled jobs' leases. A message is queued in the same breath as
//! what it reports, sent by whichever replica claims it first, and retried with back-off.

use super::Store;

/// What a message is for (stored as its label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    Reminder,
    Notice,
    Test,
    /// A recovery code to the recovery address.
    Code,
}

impl MailKind {
    pub fn label(self) -> &'static str {
        match self {
            MailKind::Reminder => "reminder",
            MailKind::Notice => "notice",
            MailKind::Test => "test",
            MailKind::Code => "code",
        }
    }
}

pub struct NewMail<'a> {
    pub kind: MailKind,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    /// At most one message with this key is ever queued.
    pub dedupe_key: Option<&'a str>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MailRow {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub queued_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    pub gave_up: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRun {
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub summary: Option<String>,
}

const COLUMNS: &str = "id, kind, recipient, subject, body_text, body_html, queued_at, attempts, next_attempt_at, \
                       sent_at, last_error, gave_up";

impl Store {
    /// Queues a message; `false` when its dedupe key was queued before (nothing is added).
    pub async fn queue_mail(&self, mail: &NewMail<'_>, now: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO mail_outbox (kind, recipient, subject, body_text, body_html, dedupe_key, queued_at, \
             next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(mail.kind.label())
        .bind(mail.recipient)
        .bind(mail.subject)
        .bind(mail.body_text)
        .bind(mail.body_html)
        .bind(mail.dedupe_key)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Messages due at `now` that nobody is sending, each claimed for `claim_secs` by `holder`
    /// (a claim is a conditional update: of two replicas, one wins each message).
    pub async fn claim_due_mail(
        &self,
        holder: &str,
        now: i64,
        claim_secs: i64,
        limit: i64,
    ) -> Result<Vec<MailRow>, sqlx::Error> {
        let due: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM mail_outbox WHERE sent_at IS NULL AND gave_up = 0 AND next_attempt_at <= $1 \
             AND claimed_until <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for (id,) in due {
            let won = sqlx::query(
                "UPDATE mail_outbox SET claimed_until = $1, attempts = attempts + 1, claimed_by = $4 WHERE id = $2 \
                 AND sent_at IS NULL AND gave_up = 0 AND claimed_until <= $3",
            )
            .bind(now + claim_secs)
            .bind(id)
            .bind(now)
            .bind(holder)
            .execute(&self.pool)
            .await?;
            if won.rows_affected() == 1 {
                let row: MailRow = sqlx::query_as(&format!("SELECT {COLUMNS} FROM mail_outbox WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
                claimed.push(row);
            }
        }
        Ok(claimed)
    }

    /// Sent by `holder`. The body is not kept: what the message said (a recovery code, a
    /// client's address) has no use once it went out.
    pub async fn mail_sent(&self, id: i64, holder: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $1, last_error = NULL, claimed_until = 0, body_text = '', body_html = '' \
             WHERE id = $2 AND claimed_by = $3",
        )
        .bind(now)
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A failed attempt by `holder`: tried again at `retry_at`, or given up (and its body
    /// dropped) when `None`.
    pub async fn mail_failed(
        &self,
        id: i64,
        holder: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE mail_outbox SET last_error = $1, next_attempt_at = $2, gave_up = $3, claimed_until = 0, \
             body_text = CASE WHEN $3 = 1 THEN '' ELSE body_text END, \
             body_html = CASE WHEN $3 = 1 THEN '' ELSE body_html END WHERE id = $4 AND claimed_by = $5",
        )
        .bind(error)
        .bind(retry_at.unwrap_or(0))
        .bind(i64::from(retry_at.is_none()))
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// When the earliest message still to send is due, if any.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, sqlx::Error> {
        let (due,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) \
             FROM mail_outbox WHERE sent_at IS NULL AND gave_up = 0",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(due)
    }

    /// The newest messages, for administrators.
    pub async fn recent_mail(&self, limit: i64) -> Result<Vec<MailRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    /// Messages not sent that failed at least once.
    pub async fn failing_mail(&self) -> Result<i64, sqlx::Error> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }

    /// Takes the job's lease until `until` when nobody holds it: whether this holder got it.
    pub async fn take_job_lease(&self, job: &str, holder: &str, now: i64, until: i64) -> Result<bool, sqlx::Error> {
        sqlx::query("INSERT INTO job_runs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(job)
            .execute(&self.pool)
            .await?;
        let taken = sqlx::query(
            "UPDATE job_runs SET holder = $1, lease_until = $2, started_at = $3, finished_at = NULL \
             WHERE name = $4 AND lease_until <= $3",
        )
        .bind(holder)
        .bind(until)
        .bind(now)
        .bind(job)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Ends the run this holder leased, keeping what it did; no replica starts the job again
    /// before `next_at` (0: at once).
    pub async fn finish_job(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        summary: &str,
        next_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE job_runs SET lease_until = $5, finished_at = $1, summary = $2 WHERE name = $3 AND holder = $4",
        )
        .bind(now)
        .bind(summary)
        .bind(job)
        .bind(holder)
        .bind(next_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    pub async fn last_job_run(&self, job: &str) -> Result<Option<JobRun>, sqlx::Error> {
        sqlx::query_as(
            "SELECT started_at, finished_at, summary FROM job_runs WHERE name = $1 AND started_at IS NOT NULL",
        )
        .bind(job)
        .fetch_optional(&self.pool)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    fn mail<'a>(key: Option<&'a str>) -> NewMail<'a> {
        NewMail {
            kind: MailKind::Reminder,
            recipient: "zoë@example.com",
            subject: "s",
            body_text: "t",
            body_html: "h",
            dedupe_key: key,
        }
    }

    #[tokio::test]
    async fn a_dedupe_key_queues_once_and_a_claim_is_won_once() {
        for t in stores().await {
            let s = &t.store;
            assert!(s.queue_mail(&mail(Some("reminder:g:2026-11-30")), 100).await.unwrap(), "{}", t.engine);
            assert!(!s.queue_mail(&mail(Some("reminder:g:2026-11-30")), 101).await.unwrap(), "{}", t.engine);
            assert!(s.queue_mail(&mail(None), 100).await.unwrap());
            assert!(s.queue_mail(&mail(None), 100).await.unwrap(), "no key, no dedupe");
            let first = s.claim_due_mail("a", 100, 60, 10).await.unwrap();
            assert_eq!(first.len(), 3, "{}", t.engine);
            assert!(s.claim_due_mail("b", 100, 60, 10).await.unwrap().is_empty(), "claimed: nobody else takes them");
            s.mail_sent(first[1].id, "b", 100).await.unwrap();
            assert!(s.recent_mail(10).await.unwrap().iter().all(|m| m.sent_at.is_none()), "only its holder marks it");
            s.mail_failed(first[0].id, "a", "refused", Some(200)).await.unwrap();
            s.mail_sent(first[1].id, "a", 100).await.unwrap();
            s.mail_failed(first[2].id, "a", "refused", None).await.unwrap();
            let done = s.recent_mail(10).await.unwrap();
            assert!(
                done.iter().filter(|m| m.sent_at.is_some() || m.gave_up == 1).all(|m| m.body_text.is_empty()),
                "bodies dropped"
            );
            assert!(s.claim_due_mail("b", 199, 60, 10).await.unwrap().is_empty(), "not due yet");
            let again = s.claim_due_mail("b", 200, 60, 10).await.unwrap();
            assert_eq!((again.len(), again[0].attempts), (1, 2), "{}", t.engine);
            assert_eq!(s.failing_mail().await.unwrap(), 2);
        }
    }

    #[tokio::test]
    async fn one_holder_runs_a_job_at_a_time() {
        for t in stores().await {
            let s = &t.store;
            assert!(s.take_job_lease("reminders", "a", 100, 200).await.unwrap());
            assert!(!s.take_job_lease("reminders", "b", 150, 250).await.unwrap(), "{}", t.engine);
            s.finish_job("reminders", "a", 160, "done", 0).await.unwrap();
            let run = s.last_job_run("reminders").await.unwrap().unwrap();
            assert_eq!((run.started_at, run.finished_at, run.summary.as_deref()), (Some(100), Some(160), Some("done")));
            assert!(s.take_job_lease("reminders", "b", 170, 270).await.unwrap());
            assert!(s.take_job_lease("reminders", "c", 271, 300).await.unwrap(), "an expired lease is taken over");
            s.finish_job("reminders", "c", 280, "done", 400).await.unwrap();
            assert!(!s.take_job_lease("reminders", "a", 390, 500).await.unwrap(), "not again before its next time");
            assert!(s.take_job_lease("reminders", "a", 400, 500).await.unwrap(), "{}", t.engine);
        }
    }
}
