use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::app::{Session, SessionState};
use super::key_sign_in::KeySignIn;
use crate::early::{self, Early};
use crate::{api, focus, network};

const ERROR: &str = "sign-in-error";

/// The password sign-in is the page's one primary action; the key's is offered below it.
#[component]
pub fn SignInPage() -> impl IntoView {
    let Session(session) = expect_context::<Session>();
    // What the page's plain form held, when it showed while the app compiled.
    let early = early::taken();
    let username = RwSignal::new(early.as_ref().map(|e| e.username.clone()).unwrap_or_default());
    let password = RwSignal::new(early.as_ref().map(|e| e.password.clone()).unwrap_or_default());
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);

    let send = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (u, p) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match api::sign_in(u, p).await {
                Ok(view) => {
                    password.set(String::new());
                    session.set(SessionState::SignedIn(view));
                }
                // What was typed stays; the offline message says why nothing happened.
                Err(e) if network::unreached(&e) => network::point_to_message(),
                Err(e) => {
                    error.set(Some(e));
                    focus::soon(ERROR);
                }
            }
            busy.set(false);
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send();
    };
    match early {
        Some(e) if e.submitted => send(),
        Some(Early { focused: Some(id), .. }) => focus::soon(id),
        _ => {}
    }

    view! {
        <section class="card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <p class="hint">"Use your domain logon name and password."</p>
            <form on:submit=submit>
                <label for="username">"Logon name"</label>
                <input id="username" name="username" autocomplete="username" required
                    bind:value=username />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required
                    bind:value=password />
                <button type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
            {move || error.get().map(|e| view! { <Alert error=e id=ERROR /> })}
            // A plain link: the recovery pages are a bundle of their own, off the first load.
            <p><a href="/recover/" data-testid="cant-sign-in">"Can't sign in?"</a></p>
            <KeySignIn />
        </section>
    }
}
