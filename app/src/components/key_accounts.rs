use latchkey_api::relay::KeyAccount;
use leptos::prelude::*;

/// What the connected key holds, for reading: the change form acts on it.
#[component]
pub fn KeyAccounts(accounts: Vec<KeyAccount>) -> impl IntoView {
    view! {
        <ul class="accounts">
            {accounts.into_iter().map(|a| view! {
                <li data-testid="key-account" data-account=a.id>
                    <strong>{a.name}</strong> " — " {a.login} ": "
                    {if a.has_password { "password stored" } else { "no password yet" }}
                </li>
            }).collect_view()}
        </ul>
    }
}
