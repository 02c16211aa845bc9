use latchkey_api::{PasswordStatus, Problem};
use leptos::html::Button;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::new_password::NewPassword;
use super::step_up_section::StepUpSection;
use crate::key_session::KeySession;
use crate::live_check::live_check;
use crate::step_up::{CodeField, StepUp};
use crate::{api, checklist};

/// Current, new and confirmation, with the live checklist; right before the submit, the
/// confirmation that it is the user when the organisation asks for one (step-up). A typed code
/// is sent first, then the change, on one submit.
#[component]
pub fn ChangeForm(
    status: PasswordStatus,
    on_changed: impl Fn() + Copy + 'static,
    step_up: StepUp,
    key: KeySession,
) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let too_early = status.earliest_change.is_some();
    let field = CodeField::new();
    let submit_button = NodeRef::<Button>::new();
    // Changes only when a confirmation starts or stops being needed: the section keeps its state.
    let needed = Memo::new(move |_| step_up.needed());

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
            // A wrong code stops here: its error is on the code field, the passwords stay typed.
            if step_up.wants_code() && !step_up.confirm(field).await {
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
                    // The confirmation was used.
                    step_up.reload();
                }
                Err(e) => {
                    if e.code == "step_up_required" {
                        step_up.lost();
                    }
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };

    // Without a code to send, a needed confirmation comes first (an app set up, or the key).
    let confirmed = move || !needed.get() || step_up.status.with(|s| s.as_ref().is_some_and(|s| s.totp_enrolled));
    let can_submit = move || !busy.get() && !too_early && check.ready() && confirmed();
    // Once the page has caught up (the section gone, the button enabled), the change is next.
    let on_confirmed = Callback::new(move |()| {
        request_animation_frame(move || {
            if let Some(button) = submit_button.get_untracked() {
                let _ = button.focus();
            }
        })
    });

    view! {
        <form class="change" on:submit=submit>
            <label for="current">"Current password"</label>
            <input id="current" type="password" autocomplete="current-password" required bind:value=current />
            <NewPassword id="new" new=new confirm=confirm check=check />
            {move || needed.get().then(|| view! {
                <StepUpSection id="step-up-code" step_up=step_up field=field key=key on_confirmed=on_confirmed embedded=true />
            })}
            <button type="submit" node_ref=submit_button disabled=move || !can_submit()>
                {move || if busy.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
        {move || error.get().map(|e| view! { <Alert error=e /> })}
        {move || done.get().map(|d| view! { <p class="success" role="status" data-testid="changed">{d}</p> })}
    }
}
