use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;

/// Every session: a code from the authenticator, or a recovery code.
#[component]
pub fn TotpVerify(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Problem>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = code.get_untracked();
        spawn_local(async move {
            match api::totp_verify(typed).await {
                Ok(()) => {
                    error.set(None);
                    on_done()
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="verify-title">
            <h1 id="verify-title">"Your authenticator code"</h1>
            <form on:submit=submit>
                <label for="totp-code">"Code (or a recovery code)"</label>
                <input id="totp-code" autocomplete="one-time-code" required bind:value=code />
                <button type="submit">"Continue"</button>
            </form>
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
