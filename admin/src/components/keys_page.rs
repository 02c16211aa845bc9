use latchkey_api::admin::{KeyStatusChange, KeyView, ManifestReport, RegisterKey};
use latchkey_api::registry::{KeyStatus, StatusReason};
use latchkey_api::Problem;
use latchkey_app::api;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Keys: register from the vendor's manifest (one, or CSV), list, change status.
#[component]
pub fn KeysPage() -> impl IntoView {
    let keys = RwSignal::new(Vec::<KeyView>::new());
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
            match api::get::<Vec<KeyView>>("/api/admin/keys").await {
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
            match api::post_unit("/api/admin/keys", &body).await {
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
            match api::post_text::<ManifestReport>("/api/admin/keys/manifest", body).await {
                Ok(r) => {
                    report.set(Some(r));
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let reason = RwSignal::new(String::new());
    let set_status = move |serial: String, status: String| {
        let reason = Some(reason.get_untracked()).filter(|r| !r.is_empty());
        let body = KeyStatusChange { status, reason };
        spawn_local(async move {
            match api::post_unit(&format!("/api/admin/keys/{serial}/status"), &body).await {
                Ok(()) => load(),
                Err(e) => error.set(Some(e)),
            }
        });
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
                <button type="submit">"Register all"</button>
            </form>
            {move || report.get().map(|r| view! {
                <p class="success" role="status">{format!("{} registered.", r.registered)}</p>
                <ul>{r.errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
            })}
            <label for="status-reason">"Reason for the next status change"</label>
            <select id="status-reason" bind:value=reason>
                <option value="">"—"</option>
                {StatusReason::GIVEN_BY_ADMINISTRATORS.into_iter().map(|r| r.label())
                    .map(|r| view! { <option value=r>{r.replace('_', " ")}</option> }).collect_view()}
            </select>
            <table data-testid="key-list">
                <thead><tr><th>"Serial"</th><th>"Status"</th><th>"Employee"</th><th>"Change"</th></tr></thead>
                <tbody>{move || keys.get().into_iter().map(|k| {
                    let serial = k.serial.clone();
                    view! {
                        <tr>
                            <td>{k.serial.clone()}</td><td>{k.status.label()}</td><td>{k.employee.clone().unwrap_or_default()}</td>
                            <td>
                                <select on:change=move |ev| set_status(serial.clone(), event_target_value(&ev))>
                                    <option value="">"—"</option>
                                    {KeyStatus::ALL.into_iter().filter(|s| *s != KeyStatus::Reserved).map(|s| s.label())
                                        .map(|s| view! { <option value=s>{s}</option> }).collect_view()}
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
