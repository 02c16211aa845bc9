use latchkey_api::admin::{MailOverview, MailView};
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::moment::Moment;
use crate::api;

/// Mail on the dashboard: whether it is set up, the reminders' last run, what failed, the
/// latest messages, and running the reminders now.
#[component]
pub fn MailCard() -> impl IntoView {
    let overview = RwSignal::new(None::<MailOverview>);
    let error = RwSignal::new(None::<Problem>);
    let ran = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let load = move || {
        spawn_local(async move {
            match api::mail().await {
                Ok(m) => overview.set(Some(m)),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    load();
    let run = move |_| {
        busy.set(true);
        ran.set(None);
        error.set(None);
        spawn_local(async move {
            match api::run_reminders().await {
                Ok(r) if r.ran => ran.set(Some(format!("Queued {} reminders ({} skipped).", r.queued, r.skipped))),
                Ok(_) => ran.set(Some("Another server was running the reminders.".into())),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            load();
        });
    };
    // Kept across reloads, so the button keeps focus after a run.
    let configured = Memo::new(move |_| overview.with(|m| m.as_ref().is_some_and(|m| m.configured)));
    view! {
        <section aria-labelledby="mail-title" data-testid="mail-card">
            <h2 id="mail-title">"Mail"</h2>
            {move || overview.get().map(|m| if !m.configured {
                view! { <p data-testid="mail-not-configured">"Mail is not set up."</p> }.into_any()
            } else {
                view! {
                    <p data-testid="last-reminder-run">{match m.last_reminder_run {
                        None => view! { "The reminders have not run yet." }.into_any(),
                        Some(r) => view! {
                            "Reminders last ran " <Moment at=r.started_at />
                            {r.finished_at.is_none().then_some(" (still running)")} ": " {r.summary}
                        }.into_any(),
                    }}</p>
                    <div class="numbers">
                        <div><div class="figure" data-testid="mail-failing">{m.failing}</div>"failing messages"</div>
                    </div>
                    <table data-testid="mail-messages">
                        <caption class="sr-only">"Latest messages"</caption>
                        <thead><tr><th>"Recipient"</th><th>"Subject"</th><th>"Kind"</th><th>"Queued"</th><th>"State"</th></tr></thead>
                        <tbody>
                            {m.messages.is_empty().then(|| view! { <tr><td colspan="5">"No messages yet."</td></tr> })}
                            {m.messages.into_iter().map(|mail| view! {
                                <tr data-mail=mail.id>
                                    <td>{mail.recipient.clone()}</td><td>{mail.subject.clone()}</td><td>{mail.kind.clone()}</td>
                                    <td><Moment at=mail.queued_at /></td><td>{state(&mail)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
            {move || configured.get().then(|| view! {
                <button type="button" class="secondary" data-testid="run-reminders" on:click=run disabled=move || busy.get()>
                    "Send reminders now"
                </button>
            })}
            {move || ran.get().map(|r| view! { <p class="success" role="status" data-testid="reminders-ran">{r}</p> })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}

/// What became of a message.
fn state(mail: &MailView) -> AnyView {
    if let Some(at) = mail.sent_at {
        return view! { "sent " <Moment at=at /> }.into_any();
    }
    let reason = mail.last_error.clone().unwrap_or_default();
    if mail.gave_up {
        return view! { "given up" {(!reason.is_empty()).then(|| format!(": {reason}"))} }.into_any();
    }
    if mail.attempts == 0 {
        return view! { "waiting" }.into_any();
    }
    view! {
        "failed: " {reason} " (attempt " {mail.attempts}
        {mail.next_attempt_at.map(|t| view! { ", next try " <Moment at=t /> })} ")"
    }
    .into_any()
}
