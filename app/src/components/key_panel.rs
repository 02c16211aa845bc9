use latchkey_api::PasswordStatus;
use leptos::prelude::*;

use super::activation_form::ActivationForm;
use super::demo_key_button::DemoKeyButton;
use super::key_account::KeyAccountCard;
use crate::key_session::{step_text, KeySession, KeyState, Outcome};
use crate::step_up;

/// The user's hardware key: find it over Bluetooth and let the server reach it through this
/// page (which only relays what neither it nor anyone between can read); then store, change
/// or generate the password it holds. An operation refused for want of a confirmation
/// (step-up) is sent again once the page's "Confirm it's you" has it.
#[component]
pub fn KeyPanel(status: PasswordStatus) -> impl IntoView {
    let key = KeySession::new();
    step_up::use_key(key);
    let status = StoredValue::new(status);

    let body = move || match key.state.get() {
        KeyState::Idle => view! { <p class="hint">"Switch your key on and keep it near this computer."</p> }.into_any(),
        KeyState::Connecting => view! { <p role="status">"Connecting to your key securely…"</p> }.into_any(),
        KeyState::Activation { serial, remaining } => {
            view! { <ActivationForm key=key serial=serial remaining=remaining /> }.into_any()
        }
        KeyState::Ready { serial, accounts } => view! {
            <p role="status" data-testid="key-ready" data-serial=serial.clone()>
                "Key " <strong>{serial.clone()}</strong> " is connected securely."
            </p>
            {accounts.into_iter().map(|account| view! {
                <KeyAccountCard key=key account=account status=status.get_value() />
            }).collect_view()}
        }
        .into_any(),
        KeyState::Lost => view! {
            <p class="alert" role="alert" data-testid="key-lost">{crate::ble::BleError::Lost.message()}</p>
        }
        .into_any(),
        KeyState::Failed(message) => {
            view! { <p class="alert" role="alert" data-testid="key-error">{message}</p> }.into_any()
        }
    };

    let connected = move || matches!(key.state.get(), KeyState::Ready { .. } | KeyState::Activation { .. });
    view! {
        <section class="card key" aria-labelledby="key-title">
            <h2 id="key-title">"Your key"</h2>
            {move || key.notice.get().map(|n| view! { <p class="notice" role="status" data-testid="key-notice">{n}</p> })}
            {body}
            {move || key.step.get().map(|s| view! { <p role="status" class="progress" data-testid="key-step">{step_text(&s)}</p> })}
            {move || key.outcome.get().and_then(|o| match o {
                Outcome::Done(m) => Some(view! { <p class="success" role="status" data-testid="key-done">{m}</p> }.into_any()),
                Outcome::Refused { code, message } => Some(view! {
                    <p class="alert" role="alert" data-testid="key-refused" data-code=code>{message}</p>
                }.into_any()),
                Outcome::SignedIn(_) => None,
            })}
            <div class="row">
                {move || match key.state.get() {
                    KeyState::Lost => view! {
                        <button type="button" data-testid="key-reconnect" on:click=move |_| key.reconnect()>"Reconnect"</button>
                    }.into_any(),
                    _ if connected() => view! {
                        <button type="button" class="link" on:click=move |_| key.cancel()>
                            {move || if key.busy() { "Cancel" } else { "Disconnect" }}
                        </button>
                    }.into_any(),
                    _ => view! {
                        <button type="button" data-testid="key-connect" on:click=move |_| key.connect()
                            disabled=move || key.busy()>"Connect your key"</button>
                        <DemoKeyButton key=key />
                    }.into_any(),
                }}
            </div>
        </section>
    }
}
