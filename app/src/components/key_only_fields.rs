use latchkey_api::relay::KeyAccount;
use leptos::prelude::*;

/// The password for the key alone: the current domain password for an account the key holds
/// no password for yet (checked with the directory, then stored), or one changed elsewhere.
/// With several accounts on the key, which one.
#[component]
pub fn KeyOnlyFields(
    accounts: Memo<Vec<KeyAccount>>,
    account: Memo<Option<KeyAccount>>,
    picked: RwSignal<Option<u16>>,
    on_key: RwSignal<String>,
) -> impl IntoView {
    // Onboarding (the domain password, checked, then stored) is for the directory's account
    // only; any other account just takes the password typed.
    let stored =
        Memo::new(move |_| account.with(|a| a.as_ref().is_some_and(|a| a.has_password || !a.directory_managed)));
    let pick = move |ev: leptos::ev::Event| picked.set(event_target_value(&ev).parse().ok());
    view! {
        {move || (accounts.with(Vec::len) > 1).then(|| view! {
            <label for="on-key-account">"Account on the key"</label>
            <select id="on-key-account" on:change=pick>
                {accounts.get().into_iter().map(|a| {
                    let id = a.id;
                    view! {
                        <option value=id.to_string() selected=move || account.with(|c| c.as_ref().map(|c| c.id)) == Some(id)>
                            {a.name} " — " {a.login}
                        </option>
                    }
                }).collect_view()}
            </select>
        })}
        <p class="hint" id="on-key-hint">
            {move || if stored.get() {
                "For a password changed elsewhere: the key gets it, the directory is not changed."
            } else {
                "The key does not hold this password yet. Type your current domain password: Latchkey checks it \
                 with the directory, then stores it on the key."
            }}
        </p>
        <label for="on-key">{move || if stored.get() { "Password for the key" } else { "Current domain password" }}</label>
        <input id="on-key" type="password" autocomplete="current-password" required aria-describedby="on-key-hint"
            bind:value=on_key />
    }
}
