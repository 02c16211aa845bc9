use leptos::prelude::*;

use super::activation_form::ActivationForm;
use super::demo_key_button::DemoKeyButton;
use super::key_accounts::KeyAccounts;
use super::key_progress::KeyProgress;
use crate::focus;
use crate::key_session::{KeySession, KeyState};

/// Where the panel's state is said (it takes the focus as the state changes).
const STATE: &str = "key-state";

/// The user's hardware key: find it over Bluetooth and let the server reach it through this
/// page (which only relays what neither it nor anyone between can read). What to do with the
/// password it holds is chosen in the change form, which the connected key adds choices to.
/// An operation refused for want of a confirmation (step-up) is sent again once the page's
/// "Confirm it's you" has it.
#[component]
pub fn KeyPanel(key: KeySession) -> impl IntoView {
    // Each new state takes the focus: its message, or its first field. Ready is the change
    // form's to focus (its new choice); a wrong activation code, the alert saying so.
    Effect::new(move |before: Option<(u8, bool)>| {
        let now = key.state.with(|s| match s {
            KeyState::Idle => (0, false),
            KeyState::Connecting => (1, false),
            KeyState::Activation { remaining, .. } => (2, remaining.is_some()),
            KeyState::Ready { .. } => (3, false),
            KeyState::Lost => (4, false),
            KeyState::Failed(_) => (5, false),
        });
        if before.is_some_and(|b| b != now) {
            match now {
                (0, _) => focus::soon("key-connect"),
                (2, false) => focus::soon("activation-code"),
                (2, true) => focus::soon("activation-wrong"),
                (3, _) => {}
                _ => focus::soon(STATE),
            }
        }
        now
    });

    let body = move || {
        match key.state.get() {
        KeyState::Idle => view! { <p class="hint">"Switch your key on and keep it near this computer."</p> }.into_any(),
        KeyState::Connecting => view! {
            <p id=STATE role="status" tabindex="-1" data-testid="key-connecting">"Connecting to your key securely…"</p>
        }
        .into_any(),
        KeyState::Activation { serial, remaining } => {
            view! { <ActivationForm key=key serial=serial remaining=remaining /> }.into_any()
        }
        KeyState::Ready { serial, accounts } => view! {
            <p id=STATE role="status" tabindex="-1" data-testid="key-ready" data-serial=serial.clone()>
                "Key " <strong>{serial.clone()}</strong> " is connected securely. Choose above what to change."
            </p>
            <KeyAccounts accounts=accounts />
        }
        .into_any(),
        KeyState::Lost => view! {
            <p id=STATE class="alert" role="alert" tabindex="-1" data-testid="key-lost">{crate::ble::BleError::Lost.message()}</p>
        }
        .into_any(),
        KeyState::Failed(message) => view! {
            <p id=STATE class="alert" role="alert" tabindex="-1" data-testid="key-error">{message}</p>
        }
        .into_any(),
    }
    };
    // Once ready, the change form shows how an operation goes; before (activation), here.
    let ready = Memo::new(move |_| matches!(key.state.get(), KeyState::Ready { .. }));
    let connected = Memo::new(move |_| matches!(key.state.get(), KeyState::Ready { .. } | KeyState::Activation { .. }));
    let lost = Memo::new(move |_| key.state.get() == KeyState::Lost);
    view! {
        <section class="card key" aria-labelledby="key-title">
            <h2 id="key-title">"Your key"</h2>
            {move || key.notice.get().map(|n| view! { <p class="notice" role="status" data-testid="key-notice">{n}</p> })}
            {body}
            {move || (!ready.get()).then(|| view! { <KeyProgress key=key /> })}
            <div class="actions">
                {move || if lost.get() {
                    view! {
                        <button type="button" data-testid="key-reconnect" on:click=move |_| key.reconnect()>"Reconnect"</button>
                    }.into_any()
                } else if connected.get() {
                    view! {
                        <button type="button" class="secondary" on:click=move |_| key.cancel()>
                            {move || if key.busy() { "Cancel" } else { "Disconnect" }}
                        </button>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="secondary" id="key-connect" data-testid="key-connect" on:click=move |_| key.connect()
                            disabled=move || key.busy()>"Connect your key"</button>
                        <DemoKeyButton key=key />
                    }.into_any()
                }}
            </div>
        </section>
    }
}
