use latchkey_api::{PasswordStatus, Problem};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::new_password::NewPassword;
use crate::live_check::live_check;
use crate::{api, checklist, step_up};

/// Current, new and confirmation, with the live checklist; right before the submit, the
/// confirmation that it is the user when the organisation asks for one (step-up). A typed code
/// is sent first, then the change, on one submit.
#[component]
pub fn ChangeForm(status: PasswordStatus, on_changed: impl Fn() + Copy + 'static) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let too_early = status.earliest_change.is_some();

    let check = live_check(&status, current.into(), new, confirm);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() || !check.items.with_untracked(|i| checklist::ready_to_submit(i)) {
            return;
        }
        busy.set(true);
        error.set(None);
        done.set(None);
        let (c, n) = (current.get_untracked(), new.get_untracked());
        spawn_local(async move {
            // A refused code stops here: its error is in the section, the passwords stay typed.
            if !step_up::confirm_typed().await {
                busy.set(false);
                return;
            }
            match api::change(c, n).await {
                Ok(answer) => {
                    for field in [current, new, confirm] {
                        field.set(String::new());
                    }
                    let others = match answer.sessions_ended {
                        0 => String::new(),
                        1 => " Your one other session was signed out.".into(),
                        n => format!(" Your {n} other sessions were signed out."),
                    };
                    done.set(Some(format!("Your password was changed.{others}")));
                    on_changed();
                    // The change used the confirmation.
                    step_up::reload();
                }
                Err(e) => {
                    step_up::refused(&e.code, false);
                    error.set(Some(e))
                }
            }
            busy.set(false);
        });
    };

    let can_submit = move || !busy.get() && !too_early && check.ready();

    view! {
        <form class="change" on:submit=submit>
            <label for="current">"Current password"</label>
            <input id="current" type="password" autocomplete="current-password" required bind:value=current />
            <NewPassword id="new" new=new confirm=confirm check=check />
            // The step-up section's place (`step_up::HOST`), right before the submit.
            <div id="step-up"></div>
            <button type="submit" disabled=move || !can_submit()>
                {move || if busy.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
        {move || error.get().map(|e| view! { <Alert error=e /> })}
        {move || done.get().map(|d| view! { <p class="success" role="status" data-testid="changed">{d}</p> })}
    }
}
