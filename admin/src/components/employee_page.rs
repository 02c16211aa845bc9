use latchkey_api::admin::{AssignKey, AssignedKey, EmployeeDetail, FlagsChange, KeyView, NewAccount};
use latchkey_api::Problem;
use latchkey_app::api;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_app::{Nav, View};
use super::reset_form::ResetForm;

/// One employee: what the directory says, their keys and accounts, resets and flags, audit.
#[component]
pub fn EmployeePage(username: String) -> impl IntoView {
    let Nav(nav) = expect_context::<Nav>();
    let detail = RwSignal::new(None::<EmployeeDetail>);
    let ready_keys = RwSignal::new(Vec::<KeyView>::new());
    let error = RwSignal::new(None::<Problem>);
    let code = RwSignal::new(None::<String>);
    let chosen_key = RwSignal::new(String::new());
    let domain = RwSignal::new("EXAMPLE".to_string());
    let account_name = RwSignal::new("Domain account".to_string());
    let login_type = RwSignal::new("domain".to_string());
    let upn = RwSignal::new(String::new());
    let user = StoredValue::new(username);
    let base = move || format!("/api/admin/employees/{}", user.get_value());

    let load = move || {
        spawn_local(async move {
            match api::get::<EmployeeDetail>(&base()).await {
                Ok(d) => detail.set(Some(d)),
                Err(e) => error.set(Some(e)),
            }
            if let Ok(keys) = api::get::<Vec<KeyView>>("/api/admin/keys").await {
                ready_keys
                    .set(keys.into_iter().filter(|k| k.status == latchkey_api::registry::KeyStatus::Ready).collect());
            }
        });
    };
    load();
    let act = move |result: Result<(), Problem>| match result {
        Ok(()) => {
            error.set(None);
            load();
        }
        Err(e) => error.set(Some(e)),
    };
    let assign = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let serial = chosen_key.get_untracked();
        let body = AssignKey { username: user.get_value() };
        spawn_local(async move {
            match api::post_json::<_, AssignedKey>(&format!("/api/admin/keys/{serial}/assign"), &body).await {
                Ok(a) => {
                    code.set(Some(a.activation_code));
                    act(Ok(()));
                }
                Err(e) => act(Err(e)),
            }
        });
    };
    let add_account = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = NewAccount {
            name: "Domain account".into(),
            login_type: "domain".into(),
            domain: domain.get_untracked(),
            login: None,
        };
        spawn_local(async move {
            act(api::post_json::<_, Vec<String>>(&format!("{}/accounts", base()), &body).await.map(|_| ()));
        });
    };
    let must_change = move |value: bool| {
        spawn_local(async move {
            let flags = FlagsChange { must_change: Some(value), may_change: None };
            act(api::post_unit(&format!("{}/flags", base()), &flags).await);
        })
    };
    let may_change = move |value: bool| {
        spawn_local(async move {
            let flags = FlagsChange { must_change: None, may_change: Some(value) };
            act(api::post_unit(&format!("{}/flags", base()), &flags).await);
        })
    };
    let unlock = move |_| spawn_local(async move { act(api::post_unit(&format!("{}/unlock", base()), &()).await) });

    view! {
        <section class="card" aria-labelledby="employee-title">
            <button type="button" class="link" on:click=move |_| nav.set(View::Employees)>"← Employees"</button>
            {move || detail.get().map(|d| {
                let facts = d.directory.clone();
                view! {
                    <h1 id="employee-title" data-testid="employee-title">{d.display_name.clone()} " (" {d.username.clone()} ")"</h1>
                    {match facts {
                        None => view! { <p class="notice">"The directory cannot be asked right now."</p> }.into_any(),
                        Some(f) => view! {
                            <p data-testid="facts">
                                {f.password_last_set.map(|t| format!("Password set {}. ", latchkey_app::components::format::local_datetime(t)))}
                                {f.expires_at.map(|t| format!("Expires {}. ", latchkey_app::components::format::local_datetime(t)))}
                                {if f.locked_out { "Locked out. " } else { "" }}
                                {if f.must_change { "Must change at next logon. " } else { "" }}
                                {if f.may_change { "" } else { "May not change the password. " }}
                            </p>
                            <div class="inline">
                                <button type="button" class="link" on:click=move |_| must_change(!f.must_change)>
                                    {if f.must_change { "Clear “must change at next logon”" } else { "Require a change at next logon" }}
                                </button>
                                <button type="button" class="link" data-testid="may-change" on:click=move |_| may_change(!f.may_change)>
                                    {if f.may_change { "Forbid changing the password" } else { "Allow changing the password" }}
                                </button>
                                {f.locked_out.then(|| view! { <button type="button" class="link" on:click=unlock>"Unlock"</button> })}
                            </div>
                        }.into_any(),
                    }}
                    <h2>"Keys"</h2>
                    <table data-testid="keys">
                        <tbody>{d.keys.iter().map(|k| view! {
                            <tr><td>{k.serial.clone()}</td><td>{k.status.label()}</td><td>{k.status_reason.map(|r| r.describe()).unwrap_or_default()}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                    <h2>"Accounts on keys"</h2>
                    <table data-testid="accounts">
                        <tbody>{d.accounts.iter().map(|a| view! {
                            <tr><td>{a.key.clone()}</td><td>{a.name.clone()}</td><td>{a.login.clone()}</td>
                                <td>{if a.pending_delivery { "new password waiting for the key" } else { "" }}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                    <h2>"Audit"</h2>
                    <table>
                        <tbody>{d.audit.iter().take(20).map(|e| view! {
                            <tr><td>{e.at}</td><td>{e.actor.clone()}</td><td>{e.action.clone()}</td><td>{e.result.clone()}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                }
            })}
            <form class="inline" on:submit=assign data-testid="assign">
                <label for="assign-key">"Assign a ready key"</label>
                <select id="assign-key" bind:value=chosen_key>
                    <option value="">"—"</option>
                    {move || ready_keys.get().into_iter().map(|k| view! { <option value=k.serial.clone()>{k.serial.clone()}</option> }).collect_view()}
                </select>
                <button type="submit">"Assign"</button>
            </form>
            {move || code.get().map(|c| view! {
                <p class="notice" role="status">"Activation code, shown only now: " <code class="secret" data-testid="activation-code">{c}</code></p>
            })}
            <form class="inline" on:submit=add_account data-testid="add-account">
                <label for="account-name">"Account on the keys (no password: the employee adds it)"</label>
                <input id="account-name" bind:value=account_name />
                <select aria-label="Login type" bind:value=login_type>
                    <option value="domain">"domain account"</option>
                    <option value="entra">"Entra account"</option>
                </select>
                {move || if login_type.get() == "entra" {
                    view! { <input aria-label="UPN" placeholder="name@example.com" bind:value=upn /> }.into_any()
                } else {
                    view! { <input id="account-domain" aria-label="Domain" bind:value=domain /> }.into_any()
                }}
                <button type="submit">"Add account"</button>
            </form>
            <ResetForm username=user.get_value() on_done=load />
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
