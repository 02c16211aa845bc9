use latchkey_api::recovery::RecoveryAction;
use latchkey_api::relay::RelayRequest;
use latchkey_api::Problem;
use latchkey_app::ble::BleError;
use latchkey_app::components::demo_key_button::DemoKeyButton;
use latchkey_app::key_session::{step_text, KeySession, KeyState, Outcome};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::error_box::ErrorBox;
use crate::api;
use latchkey_app::focus;

/// The refusal that asks for a code from the authenticator app besides the key.
const CODE_NEEDED: &str = "second_factor_required";
const WRONG_CODE: &str = "wrong_code";

/// Where the key's connection is, as the controls follow it: an operation that updates the
/// key's accounts changes nothing here, so focus stays where it is.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Off,
    Connecting,
    Ready,
    Lost,
}

/// "With my key": the key names its owner, so no session is needed. Unlock the account, or
/// set a new password (generated, never shown) in the directory and on the key; a code from
/// the authenticator app too when the organisation asks for one. Then signs in with the key
/// and opens the portal.
#[component]
pub fn WithKey() -> impl IntoView {
    let key = KeySession::new();
    // The action asked for last: sent again with the code when one is asked.
    let action = RwSignal::new(RecoveryAction::Unlock);
    let asks_code = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    let code_error = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(None::<String>);
    let (code_input, first_choice, said) = (
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Button>::new(),
        NodeRef::<leptos::html::P>::new(),
    );
    focus::on_mount(code_input);
    focus::on_mount(first_choice);
    focus::on_mount(said);

    let phase = Memo::new(move |_| match key.state.get() {
        KeyState::Connecting => Phase::Connecting,
        KeyState::Ready { .. } => Phase::Ready,
        KeyState::Lost => Phase::Lost,
        KeyState::Idle | KeyState::Activation { .. } | KeyState::Failed(_) => Phase::Off,
    });
    Effect::new(move |_| {
        if let KeyState::Activation { .. } = key.state.get() {
            key.cancel();
            error.set(Some(Problem::new(
                "not_activated",
                "This key has not been activated yet, so it cannot recover your account. Ask your administrator.",
            )));
        }
    });
    Effect::new(move |_| match key.outcome.get() {
        Some(Outcome::Done(message)) => {
            done.set(Some(message));
            asks_code.set(false);
            code.set(String::new());
            // The key holds a working password now: sign in with it (another press).
            key.send(RelayRequest::SignIn);
        }
        Some(Outcome::SignedIn(ticket)) => spawn_local(async move {
            let result = api::sign_in_with_key(ticket).await;
            key.cancel();
            match result {
                Ok(_) => open_portal(),
                Err(e) => error.set(Some(e)),
            }
        }),
        Some(Outcome::Refused { code: c, .. }) if c == CODE_NEEDED => {
            asks_code.set(true);
            code_error.set(None);
            focus::now(code_input);
        }
        Some(Outcome::Refused { code: c, message }) if c == WRONG_CODE && asks_code.get_untracked() => {
            code_error.set(Some(message));
            focus::now(code_input);
        }
        Some(Outcome::Refused { code: c, message }) => error.set(Some(refusal(&c, message))),
        None => {}
    });

    let clear = move || {
        error.set(None);
        code_error.set(None);
    };
    let connect = move |_| {
        clear();
        done.set(None);
        key.connect();
    };
    let recover = move |chosen: RecoveryAction| {
        clear();
        action.set(chosen);
        let typed = code.get_untracked().trim().to_string();
        let code = (asks_code.get_untracked() && !typed.is_empty()).then_some(typed);
        key.send(RelayRequest::Recover { action: chosen, code });
    };
    let send_code = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if key.busy() {
            return;
        }
        clear();
        let code = Some(code.get_untracked().trim().to_string());
        key.send(RelayRequest::Recover { action: action.get_untracked(), code });
    };
    let disconnect = move |_| {
        key.cancel();
        asks_code.set(false);
        clear();
    };

    let controls = move || match phase.get() {
        Phase::Off => view! {
            <p class="hint">"Switch your key on and keep it near this computer. No password is needed."</p>
            <div class="inline">
                <button type="button" data-testid="recover-connect" on:click=connect disabled=move || key.busy()>
                    "Connect your key"
                </button>
                <DemoKeyButton key=key />
            </div>
        }
        .into_any(),
        Phase::Connecting => view! { <p role="status">"Connecting to your key securely…"</p> }.into_any(),
        Phase::Ready => {
            let serial = key.state.with_untracked(|s| match s {
                KeyState::Ready { serial, .. } => serial.clone(),
                _ => String::new(),
            });
            view! {
                <p role="status" data-testid="key-ready" data-serial=serial.clone()>
                    "Key " <strong>{serial.clone()}</strong> " is connected securely. What should happen?"
                </p>
                {move || done.with(Option::is_none).then(|| view! {
                    <div class="inline">
                        <button type="button" data-testid="recover-unlock" node_ref=first_choice
                            disabled=move || key.busy() on:click=move |_| recover(RecoveryAction::Unlock)>
                            "Unlock my account"
                        </button>
                        <button type="button" data-testid="recover-reset"
                            disabled=move || key.busy() on:click=move |_| recover(RecoveryAction::Reset)>
                            "Set a new password on my key"
                        </button>
                    </div>
                    <p class="hint">
                        "Unlocking makes the password on your key work again. A new password is made up for you \
                         and stored on your key; nobody sees it."
                    </p>
                })}
                <button type="button" class="link" data-testid="key-disconnect" on:click=disconnect>
                    {move || if key.busy() { "Cancel" } else { "Disconnect" }}
                </button>
            }
            .into_any()
        }
        Phase::Lost => view! {
            <p class="alert" role="alert" data-testid="key-lost">{BleError::Lost.message()}</p>
            <button type="button" data-testid="key-reconnect" on:click=move |_| key.reconnect()>"Reconnect"</button>
        }
        .into_any(),
    };
    let failed = move || match key.state.get() {
        KeyState::Failed(message) => {
            Some(view! { <p class="alert" role="alert" data-testid="key-error">{message}</p> })
        }
        _ => None,
    };
    let code_form = move || {
        asks_code.get().then(|| {
            view! {
                <form on:submit=send_code data-testid="recover-code-form">
                    <label for="recover-code">"Code from your authenticator app"</label>
                    <input id="recover-code" data-testid="recover-code" inputmode="numeric" autocomplete="one-time-code"
                        required node_ref=code_input bind:value=code
                        aria-invalid=move || code_error.with(Option::is_some).then_some("true")
                        aria-describedby=move || code_error.with(Option::is_some).then_some("recover-code-error") />
                    {move || code_error.get().map(|m| view! {
                        <p id="recover-code-error" class="alert" role="alert" data-testid="recover-code-error">{m}</p>
                    })}
                    <button type="submit" data-testid="recover-code-submit" disabled=move || key.busy()>"Continue"</button>
                </form>
            }
        })
    };
    view! {
        <section class="card" aria-labelledby="with-key-title" data-testid="recover-with-key">
            <h2 id="with-key-title">"With my key"</h2>
            {controls}
            {failed}
            {code_form}
            {move || key.step.get().map(|s| view! { <p role="status" class="progress" data-testid="key-step">{step_text(&s)}</p> })}
            {move || done.get().map(|m| view! {
                <p class="success" role="status" tabindex="-1" node_ref=said data-testid="recover-done">{m}</p>
            })}
            {move || error.get().map(|e| view! { <ErrorBox error=e /> })}
        </section>
    }
}

/// A refusal as the user reads it. `forbidden` here is about the key (not in use) or the
/// organisation (recovery with the key off), not about administrators as its message says.
fn refusal(code: &str, message: String) -> Problem {
    if code == "forbidden" {
        return Problem::new(
            code,
            "This key cannot recover your account: it is not in use, or this way is switched off. Ask your \
             administrator.",
        );
    }
    Problem::new(code, message)
}

/// Signed in: the portal takes over (a page of the app's bundle).
fn open_portal() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href("/");
    }
}
