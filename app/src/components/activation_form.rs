use latchkey_api::relay::RelayRequest;
use leptos::prelude::*;

use crate::key_session::KeySession;

/// A new key's first connection: the activation code the administrator handed over.
#[component]
pub fn ActivationForm(key: KeySession, serial: String, remaining: Option<u8>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        key.send(RelayRequest::Activate { code: code.get_untracked() });
    };
    view! {
        <form class="activation" on:submit=submit>
            <p>"Key " <strong>{serial}</strong> " is new. Enter the activation code your administrator gave you, \
                then press the button on the key."</p>
            {remaining.map(|r| view! {
                <p id="activation-wrong" class="alert" role="alert" tabindex="-1" data-testid="activation-wrong">
                    "That code is wrong. " {r} " tries left before the key locks itself."
                </p>
            })}
            <label for="activation-code">"Activation code"</label>
            <input id="activation-code" inputmode="numeric" autocomplete="one-time-code" required bind:value=code />
            <button type="submit" disabled=move || key.busy()>"Activate"</button>
        </form>
    }
}
