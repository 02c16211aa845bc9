use latchkey_api::admin::{KeyStatusChange, KeyView, ManifestReport, RegisterKey};
use latchkey_api::registry::{KeyStatus, StatusReason};
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::confirm_dialog::Confirm;
use super::key_badge::KeyBadge;
use crate::api;

/// Keys: register from the vendor's manifest (one, or CSV), list (all, or one status), change
/// status (asked first when it takes a key out of service).
#[component]
pub fn KeysPage(status: Option<KeyStatus>) -> impl IntoView {
    let confirm = expect_context::<Confirm>();
    let keys = RwSignal::new(Vec::<KeyView>::new());
    let shown = RwSignal::new(status);
    let error = RwSignal::new(None::<Problem>);
    let report = RwSignal::new(None::<ManifestReport>);
    let (serial, public_key, code, csv) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let load = move || {
        spawn_local(async move {
            match api::keys().await {
                Ok(k) => keys.set(k),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    load();
    let register = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = RegisterKey {
            serial: serial.get_untracked(),
            public_key: public_key.get_untracked(),
            activation_code: code.get_untracked(),
        };
        spawn_local(async move {
            match api::register_key(&body).await {
                Ok(()) => {
                    for f in [serial, public_key, code] {
                        f.set(String::new());
                    }
                    error.set(None);
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let manifest = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = csv.get_untracked();
        spawn_local(async move {
            match api::register_manifest(body).await {
                Ok(r) => {
                    report.set(Some(r));
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let reason = RwSignal::new(String::new());
    let apply = move |serial: String, status: KeyStatus| {
        let reason = Some(reason.get_untracked()).filter(|r| !r.is_empty());
        let body = KeyStatusChange { status: status.label().to_string(), reason };
        spawn_local(async move {
            match api::set_key_status(&serial, &body).await {
                Ok(()) => {
                    error.set(None);
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let set_status = move |key: KeyView, chosen: String| {
        let Some(to) = KeyStatus::parse(&chosen) else { return };
        let owner = key.employee.clone().unwrap_or_else(|| "nobody".into());
        let consequence = match to {
            KeyStatus::Deactivated => {
                format!("{owner}'s key {} will be wiped the next time it connects. This is final.", key.serial)
            }
            KeyStatus::Compromised => {
                format!("{} will never be trusted again; {owner} cannot use it. This is final.", key.serial)
            }
            KeyStatus::Locked | KeyStatus::Suspended => {
                format!("{owner} cannot use {} until an administrator puts it back in service.", key.serial)
            }
            KeyStatus::Ready => format!("{} goes back to the shelf: {owner} no longer holds it.", key.serial),
            KeyStatus::Active | KeyStatus::Reserved => String::new(),
        };
        if consequence.is_empty() {
            return apply(key.serial, to);
        }
        let serial = key.serial.clone();
        confirm.ask(
            format!("Make {} {}?", key.serial, to.label()),
            consequence,
            &format!("Make it {}", to.label()),
            move || apply(serial.clone(), to),
        );
    };
    let listed = move || {
        let only = shown.get();
        keys.get().into_iter().filter(|k| only.is_none_or(|s| k.status == s)).collect::<Vec<_>>()
    };
    view! {
        <section class="card" aria-labelledby="keys-title">
            <h1 id="keys-title">"Keys"</h1>
            <form on:submit=register data-testid="register-key">
                <label for="key-serial">"Serial"</label>
                <input id="key-serial" required bind:value=serial />
                <label for="key-public">"Public key (64 hex digits)"</label>
                <input id="key-public" required bind:value=public_key />
                <label for="key-code">"Activation code"</label>
                <input id="key-code" required bind:value=code />
                <button type="submit">"Register"</button>
            </form>
            <form on:submit=manifest>
                <label for="key-csv">"Or a manifest (CSV: serial,public_key,activation_code)"</label>
                <textarea id="key-csv" bind:value=csv></textarea>
                <button type="submit" class="secondary">"Register all"</button>
            </form>
            {move || report.get().map(|r| view! {
                <p class="success" role="status">{format!("{} registered.", r.registered)}</p>
                <ul>{r.errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            })}
            <div class="inline">
                <span>
                    <label for="key-filter">"Show"</label>
                    <select id="key-filter" data-testid="key-filter"
                        on:change=move |ev| shown.set(KeyStatus::parse(&event_target_value(&ev)))>
                        <option value="" selected=status.is_none()>"every key"</option>
                        {KeyStatus::ALL.into_iter().map(|s| view! {
                            <option value=s.label() selected=status == Some(s)>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </span>
                <span>
                    <label for="status-reason">"Reason for the next status change"</label>
                    <select id="status-reason" bind:value=reason>
                        <option value="">"—"</option>
                        {StatusReason::GIVEN_BY_ADMINISTRATORS.into_iter()
                            .map(|r| view! { <option value=r.label()>{r.describe()}</option> }).collect_view()}
                    </select>
                </span>
            </div>
            <table data-testid="key-list">
                <thead><tr><th>"Serial"</th><th>"Status"</th><th>"Employee"</th><th>"Change"</th></tr></thead>
                <tbody>{move || listed().into_iter().map(|k| {
                    let label = format!("New status for {}", k.serial);
                    let row = k.clone();
                    view! {
                        <tr data-serial=k.serial.clone()>
                            <td>{k.serial.clone()}</td>
                            <td><KeyBadge status=k.status reason=k.status_reason /></td>
                            <td>{k.employee.clone().unwrap_or_default()}</td>
                            <td>
                                <select aria-label=label data-testid="key-status"
                                    on:change=move |ev| {
                                        let chosen = event_target_value(&ev);
                                        // The row shows the key's status, not a change not yet made.
                                        event_target::<web_sys::HtmlSelectElement>(&ev).set_value("");
                                        set_status(row.clone(), chosen)
                                    }>
                                    <option value="">"—"</option>
                                    {KeyStatus::ALL.into_iter().filter(|s| k.status.can_move_to(*s))
                                        .map(|s| view! { <option value=s.label()>{s.label()}</option> }).collect_view()}
                                </select>
                            </td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
