use latchkey_api::relay::RelayRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::app::{Session, SessionState};
use super::demo_key_button::DemoKeyButton;
use crate::key_session::{step_text, KeySession, KeyState, Outcome};
use crate::{api, focus};

const ERROR: &str = "key-sign-in-error";

/// Sign-in with the key: its secure channel to the server plus a press on its button. Offered
/// below the password form, as secondary buttons.
#[component]
pub fn KeySignIn() -> impl IntoView {
    let Session(session) = expect_context::<Session>();
    let key = KeySession::new();
    let error = RwSignal::new(None::<String>);

    // Once the key is reachable, ask it; once it answers, trade the ticket for a session.
    Effect::new(move |_| match key.state.get() {
        KeyState::Ready { .. } if key.outcome.get_untracked().is_none() && key.step.get_untracked().is_none() => {
            key.send(RelayRequest::SignIn)
        }
        KeyState::Activation { .. } => {
            error.set(Some("This key is not activated yet: sign in with your password first, then connect it.".into()));
            key.cancel();
        }
        _ => {}
    });
    Effect::new(move |_| match key.outcome.get() {
        Some(Outcome::SignedIn(ticket)) => spawn_local(async move {
            let result = api::sign_in_with_key(ticket).await;
            key.cancel();
            match result {
                Ok(view) => session.set(SessionState::SignedIn(view)),
                Err(e) => error.set(Some(e.message)),
            }
        }),
        Some(Outcome::Refused { message, .. }) => {
            error.set(Some(message));
            key.cancel();
        }
        _ => {}
    });

    let start = move |_| {
        error.set(None);
        key.connect();
    };
    let said = Memo::new(move |_| match key.state.get() {
        KeyState::Failed(m) => Some(m),
        KeyState::Lost => Some(crate::ble::BleError::Lost.message()),
        _ => error.get(),
    });
    // A failure takes the focus, as a refused password does.
    Effect::new(move |_| {
        if said.with(Option::is_some) {
            focus::soon(ERROR);
        }
    });
    view! {
        <div class="key-sign-in">
            <p class="or">"Or, with your hardware key:"</p>
            <div class="actions">
                <button type="button" class="secondary" data-testid="key-sign-in" on:click=start
                    disabled=move || key.busy()>
                    "Sign in with your key"
                </button>
                <DemoKeyButton key=key />
            </div>
            {move || key.step.get().map(|s| view! { <p role="status">{step_text(&s)}</p> })}
            {move || said.get().map(|m| view! {
                <p class="alert" role="alert" id=ERROR tabindex="-1" data-testid="key-error">{m}</p>
            })}
        </div>
    }
}
