use latchkey_protocol::message::{Beacon, KeyStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ble::{self, BleError};

#[derive(Clone, Debug, PartialEq)]
enum KeyState {
    Idle,
    Connecting,
    Connected(Beacon),
    Failed(BleError),
}

/// The user's hardware key: find it over Bluetooth and show what it says about itself.
#[component]
pub fn KeyPanel() -> impl IntoView {
    let state = RwSignal::new(KeyState::Idle);

    let connect = move |_| {
        // The chooser opens only from the click itself.
        let chosen = match ble::choose() {
            Ok(p) => p,
            Err(e) => return state.set(KeyState::Failed(e)),
        };
        state.set(KeyState::Connecting);
        spawn_local(async move {
            let outcome = match ble::connect(chosen).await {
                Ok(connection) => {
                    let beacon = ble::read_beacon(&connection).await;
                    // Nothing more to say to the key yet: let it sleep.
                    connection.disconnect();
                    beacon
                }
                Err(e) => Err(e),
            };
            state.set(match outcome {
                Ok(beacon) => KeyState::Connected(beacon),
                Err(e) => KeyState::Failed(e),
            });
        });
    };

    view! {
        <section class="card key" aria-labelledby="key-title">
            <h2 id="key-title">"Your key"</h2>
            {move || match state.get() {
                KeyState::Idle => view! { <p class="hint">"Switch your key on and keep it near this computer."</p> }.into_any(),
                KeyState::Connecting => view! { <p role="status">"Looking for your key…"</p> }.into_any(),
                KeyState::Connected(b) => view! {
                    <p role="status" data-testid="key-info" data-serial=b.serial.clone() data-status=status_code(b.status)>
                        "Key " <strong>{b.serial.clone()}</strong> ": " {status_text(b.status)} " (firmware " {b.firmware.clone()} ")"
                    </p>
                }.into_any(),
                KeyState::Failed(e) => view! { <p class="alert" role="alert" data-testid="key-error">{e.message()}</p> }.into_any(),
            }}
            <button type="button" on:click=connect disabled=move || state.get() == KeyState::Connecting>
                "Connect your key"
            </button>
        </section>
    }
}

fn status_code(s: KeyStatus) -> &'static str {
    match s {
        KeyStatus::Ready => "ready",
        KeyStatus::Active => "active",
        KeyStatus::Locked => "locked",
        KeyStatus::Suspended => "suspended",
        KeyStatus::Deactivated => "deactivated",
    }
}

fn status_text(s: KeyStatus) -> &'static str {
    match s {
        KeyStatus::Ready => "new, not yet activated",
        KeyStatus::Active => "active",
        KeyStatus::Locked => "locked",
        KeyStatus::Suspended => "suspended",
        KeyStatus::Deactivated => "deactivated",
    }
}
