use latchkey_api::{AdminResetRequest, AdminResetResponse, Password, Problem};
use latchkey_app::api;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// An administrator's reset: typed twice, or generated (nobody sees it); written to the
/// directory and sealed to the employee's keys.
#[component]
pub fn ResetForm(username: String, on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let must_change = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<Problem>);
    let username = StoredValue::new(username);

    let send = move |password: Option<String>| {
        error.set(None);
        done.set(None);
        let body =
            AdminResetRequest { password: password.map(Password::new), must_change: must_change.get_untracked() };
        let url = format!("/api/admin/employees/{}/reset", username.get_value());
        spawn_local(async move {
            match api::post_json::<_, AdminResetResponse>(&url, &body).await {
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
                    on_done();
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
        send(Some(typed.get_untracked()));
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
                <button type="submit" disabled=move || typed.get().is_empty()>"Reset to this password"</button>
                <button type="button" data-testid="reset-generate" on:click=move |_| send(None)>"Generate one (nobody sees it)"</button>
            </div>
        </form>
        {move || done.get().map(|d| view! { <p class="success" role="status" data-testid="reset-done">{d}</p> })}
        {move || error.get().map(|e| view! { <Alert error=e /> })}
    }
}
