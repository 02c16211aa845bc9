use latchkey_api::relay::RelayEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ble::{self, BleError};
use crate::relay::{self, Relay};

#[derive(Clone, Debug, PartialEq)]
enum KeyState {
    Idle,
    Connecting,
    /// The key is connected; the server is talking to it through this page.
    Connected,
    /// The server reached the key end to end and read what the key says about itself.
    Reached {
        serial: String,
        status: String,
        free_slots: u16,
    },
    Failed(BleError),
}

/// The user's hardware key: find it over Bluetooth and let the server reach it through this
/// page (which only relays what neither it nor anyone between can read).
#[component]
pub fn KeyPanel() -> impl IntoView {
    let state = RwSignal::new(KeyState::Idle);
    let running = StoredValue::new_local(None::<Relay>);

    let connect = move |_| {
        // The chooser opens only from the click itself.
        let chosen = match ble::choose() {
            Ok(p) => p,
            Err(e) => return state.set(KeyState::Failed(e)),
        };
        state.set(KeyState::Connecting);
        spawn_local(async move {
            let connection = match ble::connect(chosen).await {
                Ok(c) => c,
                Err(e) => return state.set(KeyState::Failed(e)),
            };
            let beacon = match ble::read_beacon(&connection).await {
                Ok(b) => b,
                Err(e) => {
                    connection.disconnect();
                    return state.set(KeyState::Failed(e));
                }
            };
            state.set(KeyState::Connected);
            let finished = move |outcome: Result<RelayEvent, BleError>| {
                state.set(match outcome {
                    Ok(RelayEvent::KeyInfo { serial, status, free_slots, .. }) => {
                        KeyState::Reached { serial, status, free_slots }
                    }
                    Ok(RelayEvent::Failed { message, .. }) => KeyState::Failed(BleError::Failed(message)),
                    Err(e) => KeyState::Failed(e),
                });
                // End the session once this callback has returned (it belongs to the relay).
                spawn_local(async move { running.set_value(None) });
            };
            match relay::start(connection, beacon, finished) {
                Ok(r) => running.set_value(Some(r)),
                Err(e) => state.set(KeyState::Failed(e)),
            }
        });
    };

    let busy = move || matches!(state.get(), KeyState::Connecting | KeyState::Connected);
    view! {
        <section class="card key" aria-labelledby="key-title">
            <h2 id="key-title">"Your key"</h2>
            {move || match state.get() {
                KeyState::Idle => view! { <p class="hint">"Switch your key on and keep it near this computer."</p> }.into_any(),
                KeyState::Connecting => view! { <p role="status">"Looking for your key…"</p> }.into_any(),
                KeyState::Connected => view! { <p role="status">"Key found. Connecting securely…"</p> }.into_any(),
                KeyState::Reached { serial, status, free_slots } => view! {
                    <p role="status" data-testid="key-reached" data-serial=serial.clone() data-status=status.clone()>
                        "Latchkey reached key " <strong>{serial.clone()}</strong> " securely: " {status.clone()}
                        ", " {free_slots} " free slots."
                    </p>
                }.into_any(),
                KeyState::Failed(e) => view! { <p class="alert" role="alert" data-testid="key-error">{e.message()}</p> }.into_any(),
            }}
            <button type="button" on:click=connect disabled=busy>"Connect your key"</button>
        </section>
    }
}
