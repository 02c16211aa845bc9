use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::error_box::ErrorBox;
use super::recover_complete::RecoverComplete;
use crate::api;

/// "Without my key": the logon name first; the server mails a code to the account's recovery
/// address (and answers the same whatever the name), then both codes and a new password.
#[component]
pub fn WithoutKey() -> impl IntoView {
    let username = RwSignal::new(String::new());
    // The server's answer, and the name it is for (the next step's).
    let started = RwSignal::new(None::<(String, String)>);
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let name = username.get_untracked().trim().to_string();
        spawn_local(async move {
            match api::start(name.clone()).await {
                Ok(s) => started.set(Some((s.message, name))),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="without-key-title" data-testid="recover-without-key">
            <h2 id="without-key-title">"Without my key"</h2>
            {move || match started.get() {
                None => view! {
                    <p class="hint">
                        "You need your authenticator app and access to your recovery mail address. \
                         Your keys keep the old password until you store the new one on them."
                    </p>
                    <form on:submit=submit>
                        <label for="recover-username">"Logon name"</label>
                        <input id="recover-username" data-testid="recover-username" name="username"
                            autocomplete="username" required bind:value=username />
                        <button type="submit" data-testid="recover-start" disabled=move || busy.get()>
                            {move || if busy.get() { "Sending…" } else { "Send me a code" }}
                        </button>
                    </form>
                    {move || error.get().map(|e| view! { <ErrorBox error=e /> })}
                }
                .into_any(),
                Some((message, name)) => view! {
                    <p class="notice" id="recover-started" data-testid="recover-started">{message}</p>
                    <RecoverComplete username=name />
                }
                .into_any(),
            }}
        </section>
    }
}
