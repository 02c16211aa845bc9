use latchkey_api::relay::{KeyAccount, RelayRequest};
use latchkey_api::{Password, PasswordStatus};
use leptos::prelude::*;

use super::new_password::NewPassword;
use crate::key_session::{KeySession, Outcome};
use crate::live_check::live_check;

/// One account on the key: store its password (onboarding), change it in the directory and on
/// the key (typed or generated), or on the key only.
#[component]
pub fn KeyAccountCard(key: KeySession, account: KeyAccount, status: PasswordStatus) -> impl IntoView {
    let id = account.id;
    let current = RwSignal::new(String::new());
    let on_key = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let check = live_check(&status, Signal::derive(String::new), new, confirm);
    let idle = move || !key.busy();
    let unverified = move || matches!(key.outcome.get(), Some(Outcome::Refused { code, .. }) if code == "unverified");

    let onboard = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let password = Password::new(current.get_untracked());
        current.set(String::new());
        key.send(RelayRequest::Onboard { account: id, password });
    };
    let change_everywhere = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let password = Password::new(new.get_untracked());
        new.set(String::new());
        confirm.set(String::new());
        key.send(RelayRequest::ChangeEverywhere { account: id, password: Some(password) });
    };
    let generate = move |_| key.send(RelayRequest::ChangeEverywhere { account: id, password: None });
    let store_on_key = move |confirm_unverified: bool| {
        let password = Password::new(on_key.get_untracked());
        if confirm_unverified {
            on_key.set(String::new());
        }
        key.send(RelayRequest::ChangeOnKey { account: id, password, confirm_unverified });
    };

    let may_change = status.may_change;
    view! {
        <article class="account" data-testid="key-account" data-account=id>
            <h3>{account.name.clone()} " — " {account.login.clone()}</h3>
            {if !account.has_password {
                view! {
                    <form on:submit=onboard data-testid="onboard">
                        <p>"The key does not hold this account's password yet. Type your current domain password: \
                            Latchkey checks it with the directory, then stores it on the key."</p>
                        <label for=format!("current-{id}")>"Current domain password"</label>
                        <input id=format!("current-{id}") type="password" autocomplete="current-password" required
                            bind:value=current />
                        <button type="submit" disabled=move || !idle()>"Store on the key"</button>
                    </form>
                }.into_any()
            } else {
                view! {
                    {may_change.then(|| view! {
                        <form on:submit=change_everywhere data-testid="change-everywhere">
                            <p>"Change the password in the directory and on the key at once; the current one is \
                                read from the key and never shown."</p>
                            <NewPassword id="key-new" new=new confirm=confirm check=check />
                            <button type="submit" disabled=move || !idle() || !check.ready()>"Change everywhere"</button>
                            <button type="button" data-testid="generate" on:click=generate disabled=move || !idle()>
                                "Generate one for me"
                            </button>
                            <p class="hint">"A generated password meets the policy and is never shown to anyone; \
                                the key types it for you."</p>
                        </form>
                    })}
                    <details>
                        <summary>"Change it on the key only"</summary>
                        <form on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); store_on_key(false) }
                            data-testid="change-on-key">
                            <p class="hint">"For when the directory password was changed elsewhere. The directory is not changed."</p>
                            <label for=format!("on-key-{id}")>"Password for the key"</label>
                            <input id=format!("on-key-{id}") type="password" autocomplete="current-password" required
                                bind:value=on_key />
                            <button type="submit" disabled=move || !idle()>"Store on the key"</button>
                            {move || unverified().then(|| view! {
                                <button type="button" data-testid="store-anyway" on:click=move |_| store_on_key(true)>
                                    "Store it anyway"
                                </button>
                            })}
                        </form>
                    </details>
                }.into_any()
            }}
        </article>
    }
}
