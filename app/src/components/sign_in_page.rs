use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::alert::Alert;
use super::app::{Session, SessionState};
use super::key_sign_in::KeySignIn;
use crate::api;

#[component]
pub fn SignInPage() -> impl IntoView {
    let Session(session) = expect_context::<Session>();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
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
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            // A plain link: the recovery pages are a bundle of their own, off the first load.
            <p class="hint">"Use your domain logon name and password. "
                <a href="/recover/" data-testid="cant-sign-in">"Can't sign in?"</a></p>
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
            {move || error.get().map(|e| view! { <Alert error=e /> })}
            <KeySignIn />
        </section>
    }
}
