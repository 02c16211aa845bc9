use latchkey_api::{ApiError, CheckPasswordResponse, PasswordStatus};
use latchkey_policy::NoBlocklist;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

use super::alert::Alert;
use super::checklist_view::ChecklistView;
use super::strength_meter::StrengthMeter;
use crate::{api, checklist};

/// Pause after the last keystroke before asking the server (blocklist, strength).
const CHECK_DELAY: Duration = Duration::from_millis(300);

/// Current, new and confirmation, with the live checklist.
#[component]
pub fn ChangeForm(status: PasswordStatus, on_changed: impl Fn() + Copy + 'static) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let server = RwSignal::new(None::<(String, CheckPasswordResponse)>);
    let error = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let too_early = status.earliest_change.is_some();

    let policy = StoredValue::new((status.policy.clone(), status.account.clone()));
    let items = Memo::new(move |_| {
        let (candidate, typed_current) = (new.get(), current.get());
        let current_opt = (!typed_current.is_empty()).then_some(typed_current.as_str());
        let local = policy.with_value(|(p, a)| latchkey_policy::check(&candidate, current_opt, p, a, &NoBlocklist));
        let server = server.get();
        let server_report = server.as_ref().filter(|(c, _)| *c == candidate).map(|(_, r)| &r.report);
        let confirm_typed = confirm.get();
        let confirm_matches = (!confirm_typed.is_empty()).then(|| confirm_typed == candidate);
        checklist::items(&local, server_report, confirm_matches)
    });
    let strength = Signal::derive(move || {
        let candidate = new.get();
        server.get().filter(|(c, _)| *c == candidate && !c.is_empty()).map(|(_, r)| r.strength)
    });

    // Ask the server about the candidate once typing pauses; ignore answers for stale text.
    let timer = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let candidate = new.get();
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        if candidate.is_empty() {
            return;
        }
        let handle = set_timeout_with_handle(
            move || {
                spawn_local(async move {
                    if let Ok(answer) = api::check(candidate.clone()).await {
                        if new.get_untracked() == candidate {
                            server.set(Some((candidate, answer)));
                        }
                    }
                });
            },
            CHECK_DELAY,
        );
        timer.set_value(handle.ok());
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || !checklist::ready_to_submit(&items.get_untracked()) {
            return;
        }
        busy.set(true);
        error.set(None);
        done.set(None);
        let (c, n) = (current.get_untracked(), new.get_untracked());
        spawn_local(async move {
            match api::change(c, n).await {
                Ok(answer) => {
                    for field in [current, new, confirm] {
                        field.set(String::new());
                    }
                    server.set(None);
                    let others = match answer.sessions_ended {
                        0 => String::new(),
                        1 => " Your one other session was signed out.".into(),
                        n => format!(" Your {n} other sessions were signed out."),
                    };
                    done.set(Some(format!("Your password was changed.{others}")));
                    on_changed();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let can_submit = move || !busy.get() && !too_early && checklist::ready_to_submit(&items.get());

    view! {
        <form class="change" on:submit=submit>
            <label for="current">"Current password"</label>
            <input id="current" type="password" autocomplete="current-password" required bind:value=current />
            <label for="new">"New password"</label>
            <input id="new" type="password" autocomplete="new-password" required
                aria-describedby="password-rules" bind:value=new />
            <label for="confirm">"New password again"</label>
            <input id="confirm" type="password" autocomplete="new-password" required bind:value=confirm />
            <ChecklistView items=items />
            <StrengthMeter strength=strength />
            <button type="submit" disabled=move || !can_submit()>
                {move || if busy.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
        {move || error.get().map(|e| view! { <Alert error=e /> })}
        {move || done.get().map(|d| view! { <p class="success" role="status" data-testid="changed">{d}</p> })}
    }
}
