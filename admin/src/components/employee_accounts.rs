use latchkey_api::admin::{EmployeeDetail, NewAccount};
use latchkey_api::registry::LoginType;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::employee_page::EmployeeName;
use crate::api;

/// Accounts on the employee's keys, and adding one as typed: a domain account (NetBIOS domain +
/// the employee's logon name, password from the directory) or an Entra ID account (the UPN, no
/// password from the directory). No password is set here: the employee stores it.
#[component]
pub fn EmployeeAccounts(detail: RwSignal<Option<EmployeeDetail>>, reload: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let login_type = RwSignal::new(LoginType::Domain.label().to_string());
    let domain = RwSignal::new(String::new());
    let upn = RwSignal::new(String::new());
    let added = RwSignal::new(None::<Vec<String>>);
    let error = RwSignal::new(None::<Problem>);
    let EmployeeName(user) = expect_context::<EmployeeName>();
    let entra = move || login_type.get() == LoginType::Entra.label();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let is_entra = login_type.get_untracked() == LoginType::Entra.label();
        let account = NewAccount {
            name: name.get_untracked(),
            login_type: login_type.get_untracked(),
            domain: if is_entra { String::new() } else { domain.get_untracked() },
            login: is_entra.then(|| upn.get_untracked()),
        };
        spawn_local(async move {
            match api::add_account(&user.get_value(), &account).await {
                Ok(serials) => {
                    added.set(Some(serials));
                    error.set(None);
                    name.set(String::new());
                    reload.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h2>"Accounts on keys"</h2>
        <table data-testid="accounts">
            <thead><tr><th>"Key"</th><th>"Name"</th><th>"Type"</th><th>"Login"</th><th>"Password"</th></tr></thead>
            <tbody>{move || detail.get().map(|d| d.accounts.into_iter().map(|a| view! {
                <tr><td>{a.key}</td><td>{a.name}</td><td>{a.login_type}</td><td>{a.login}</td>
                    <td>{a.pending_delivery.then_some("new password waiting for the key")}</td></tr>
            }).collect_view())}</tbody>
        </table>
        <form class="inline" on:submit=add data-testid="add-account">
            <span>
                <label for="account-name">"Name on the key"</label>
                <input id="account-name" required placeholder="Work account" bind:value=name />
            </span>
            <span>
                <label for="account-type">"Signs in with"</label>
                <select id="account-type" bind:value=login_type>
                    <option value=LoginType::Domain.label()>"a domain account"</option>
                    <option value=LoginType::Entra.label()>"an Entra ID account"</option>
                </select>
            </span>
            {move || if entra() {
                view! { <span><label for="account-upn">"User principal name"</label>
                    <input id="account-upn" type="email" required placeholder="name@example.com" bind:value=upn /></span> }.into_any()
            } else {
                view! { <span><label for="account-domain">"Domain (NetBIOS)"</label>
                    <input id="account-domain" required placeholder="EXAMPLE" bind:value=domain /></span> }.into_any()
            }}
            <button type="submit" class="secondary">"Add account"</button>
        </form>
        {move || added.get().map(|serials| view! {
            <p class="success" role="status" data-testid="account-added">
                {format!("Queued for {}: the employee stores its password from the portal.", serials.join(", "))}
            </p>
        })}
        {move || error.get().map(|e| view! { <Alert error=e /> })}
    }
}
