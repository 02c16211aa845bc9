use crate::api;
use latchkey_api::{Problem, TotpEnrolment};
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// First visit: an authenticator is enrolled (secret shown once), confirmed with a code; the
/// recovery codes are shown this once.
#[component]
pub fn TotpEnrol(on_done: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let enrolment = RwSignal::new(None::<TotpEnrolment>);
    let codes = RwSignal::new(None::<Vec<String>>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Problem>);
    spawn_local(async move {
        match api::totp_enrol().await {
            Ok(e) => enrolment.set(Some(e)),
            Err(e) => error.set(Some(e)),
        }
    });
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = code.get_untracked();
        spawn_local(async move {
            match api::totp_confirm(typed).await {
                Ok(r) => {
                    error.set(None);
                    codes.set(Some(r.codes));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="enrol-title">
            <h1 id="enrol-title">"Set up your authenticator"</h1>
            {move || match (enrolment.get(), codes.get()) {
                (_, Some(codes)) => view! {
                    <p>"Keep these recovery codes somewhere safe; each works once, and they are not shown again."</p>
                    <ul data-testid="recovery-codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                    <button type="button" data-testid="continue" on:click=move |_| on_done()>"Continue"</button>
                }.into_any(),
                (Some(e), None) => view! {
                    <p>"Scan this code with your authenticator app (TOTP, 6 digits, 30 s), then enter the code it shows."</p>
                    <div class="qr" data-testid="totp-qr" role="img" aria-label="QR code of your authenticator secret"
                        inner_html=e.qr_svg.clone()></div>
                    <p>"Or type this secret into it: " <code class="secret" data-testid="totp-secret">{e.secret_base32.clone()}</code></p>
                    <form on:submit=confirm>
                        <label for="totp-code">"Code"</label>
                        <input id="totp-code" inputmode="numeric" autocomplete="one-time-code" required bind:value=code />
                        <button type="submit">"Confirm"</button>
                    </form>
                }.into_any(),
                (None, None) => view! { <p class="hint">"Preparing…"</p> }.into_any(),
            }}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
