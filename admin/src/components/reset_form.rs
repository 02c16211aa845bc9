use latchkey_api::admin::EmployeeDetail;
use latchkey_api::registry::KeyStatus;
use latchkey_api::{AdminResetRequest, Password, Problem};
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::confirm_dialog::Confirm;
use super::employee_page::EmployeeName;
use crate::api;

/// An administrator's reset: typed twice, or generated (nobody sees it); written to the
/// directory and sealed to the employee's active keys. A generated password needs an active
/// key to reach, or nobody could sign in: without one, the page says so and offers the typed
/// reset with "must change at next logon" instead. Asked first, naming the employee.
#[component]
pub fn ResetForm(detail: RwSignal<Option<EmployeeDetail>>, reload: Callback<()>) -> impl IntoView {
    let confirm = expect_context::<Confirm>();
    let typed = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let must_change = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<Problem>);
    let EmployeeName(user) = expect_context::<EmployeeName>();
    let name = move || detail.with(|d| d.as_ref().map(|d| d.display_name.clone()).unwrap_or_default());
    let active = move || {
        detail.with(|d| {
            let keys = d.as_ref().map(|d| d.keys.as_slice()).unwrap_or_default();
            keys.iter().filter(|k| k.status == KeyStatus::Active).map(|k| k.serial.clone()).collect::<Vec<_>>()
        })
    };
    let can_generate = move || !active().is_empty();

    let send = move |password: Option<String>| {
        error.set(None);
        done.set(None);
        let body =
            AdminResetRequest { password: password.map(Password::new), must_change: must_change.get_untracked() };
        spawn_local(async move {
            match api::reset(&user.get_value(), &body).await {
                Ok(r) => {
                    typed.set(String::new());
                    again.set(String::new());
                    done.set(Some(if r.queued_for.is_empty() {
                        "The password was reset in the directory. No key holds this account.".into()
                    } else {
                        format!(
                            "The password was reset, and will reach {} when it next connects.",
                            r.queued_for.join(", ")
                        )
                    }));
                    reload.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if typed.get_untracked() != again.get_untracked() {
            error.set(Some(Problem::new("confirmation_mismatch", "The two passwords differ.")));
            return;
        }
        let password = typed.get_untracked();
        confirm.ask(
            format!("Reset {}'s password?", name()),
            format!(
                "The current password stops working at once and {}'s sessions end. Tell them the new one yourself{}.",
                name(),
                if must_change.get_untracked() { "; they must change it at their next logon" } else { "" }
            ),
            "Reset the password",
            move || send(Some(password.clone())),
        );
    };
    let generate = move |_| {
        confirm.ask(
            format!("Reset {}'s password to one nobody sees?", name()),
            format!(
                "The current password stops working at once. The new one reaches {} when it next connects; \
                 {} then signs in with the key.",
                active().join(", "),
                name()
            ),
            "Reset and seal it to the key",
            move || send(None),
        );
    };
    view! {
        <form on:submit=submit data-testid="reset">
            <h2>"Reset the password"</h2>
            <label for="reset-new">"New password"</label>
            <input id="reset-new" type="password" autocomplete="new-password" bind:value=typed />
            <label for="reset-again">"Again"</label>
            <input id="reset-again" type="password" autocomplete="new-password" bind:value=again />
            <label><input type="checkbox" bind:checked=must_change /> " Must change at next logon"</label>
            <div class="inline">
                <button type="submit" class="danger" disabled=move || typed.get().is_empty()>"Reset to this password"</button>
                <button type="button" class="danger" data-testid="reset-generate" disabled=move || !can_generate() on:click=generate>
                    "Generate one (nobody sees it)"
                </button>
            </div>
            {move || (!can_generate()).then(|| view! {
                <p class="hint" data-testid="generate-needs-key">
                    "A generated password reaches the employee only through an active key, and "
                    {name()} " has none yet (a key waiting for activation does not count: its owner "
                    "activates it after signing in with a password). Type a temporary password, tick “Must change at "
                    "next logon”, and tell it to them."
                </p>
            })}
        </form>
        {move || done.get().map(|d| view! { <p class="success" role="status" data-testid="reset-done">{d}</p> })}
        {move || error.get().map(|e| view! { <Alert error=e /> })}
    }
}
