use latchkey_api::recovery::RecoveryOptions;
use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::error_box::ErrorBox;
use super::lost_key::LostKey;
use super::with_key::WithKey;
use super::without_key::WithoutKey;
use crate::api;

/// "Can't sign in?": the ways the organisation offers, each in its own section. The signed-in
/// page links here as `/recover/#lost`: that section takes focus then.
#[component]
pub fn RecoverApp() -> impl IntoView {
    let options = RwSignal::new(None::<Result<RecoveryOptions, Problem>>);
    spawn_local(async move { options.set(Some(api::options().await)) });
    let lost_wanted = web_sys::window().and_then(|w| w.location().hash().ok()).is_some_and(|h| h == "#lost");
    let body = move || match options.get() {
        None => view! { <p class="hint">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <ErrorBox error=e /> }.into_any(),
        Some(Ok(o)) => view! {
            {(!o.with_key && !o.without_key && !o.report_lost_key).then(|| view! {
                <p class="notice" data-testid="recover-none">
                    "No way to recover an account is offered here. Ask your administrator or help desk."
                </p>
            })}
            {(lost_wanted && !o.report_lost_key).then(|| view! {
                <p class="notice" role="status" data-testid="report-not-offered">
                    "A lost key cannot be reported here. Tell your administrator or help desk at once."
                </p>
            })}
            {o.with_key.then(|| view! { <WithKey /> })}
            {o.without_key.then(|| view! { <WithoutKey /> })}
            {o.report_lost_key.then(|| view! { <LostKey take_focus=lost_wanted /> })}
        }
        .into_any(),
    };
    view! {
        <header class="bar">
            <span class="brand">"Latchkey"</span>
        </header>
        <main>
            <h1>"Can't sign in?"</h1>
            {body}
            <p><a href="/" data-testid="back-to-sign-in">"Back to sign-in"</a></p>
        </main>
    }
}
