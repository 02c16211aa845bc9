use latchkey_api::admin::{EmployeeDetail, KeyView};
use latchkey_api::registry::KeyStatus;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::audit_table::AuditTable;
use super::employee_page::EmployeeName;
use super::key_badge::KeyBadge;
use super::moment::Moment;
use crate::api;

/// The employee's keys with their status, what happened to them, passwords waiting for them,
/// and assigning a ready key (its activation code shown once).
#[component]
pub fn EmployeeKeys(detail: RwSignal<Option<EmployeeDetail>>, reload: Callback<()>) -> impl IntoView {
    let ready = RwSignal::new(Vec::<KeyView>::new());
    let chosen = RwSignal::new(String::new());
    let code = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<Problem>);
    let EmployeeName(user) = expect_context::<EmployeeName>();
    spawn_local(async move {
        if let Ok(keys) = api::keys().await {
            ready.set(keys.into_iter().filter(|k| k.status == KeyStatus::Ready).collect());
        }
    });
    let assign = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let serial = chosen.get_untracked();
        spawn_local(async move {
            match api::assign_key(&serial, &user.get_value()).await {
                Ok(a) => {
                    code.set(Some(a.activation_code));
                    ready.update(|keys| keys.retain(|k| k.serial != serial));
                    chosen.set(String::new());
                    error.set(None);
                    reload.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h2>"Keys"</h2>
        {move || detail.get().map(|detail| view! {
            <table data-testid="keys">
                <thead><tr><th>"Serial"</th><th>"Status"</th></tr></thead>
                <tbody>{detail.keys.iter().map(|k| view! {
                    <tr><td>{k.serial.clone()}</td><td><KeyBadge status=k.status reason=k.status_reason /></td></tr>
                }).collect_view()}</tbody>
            </table>
            {(!detail.waiting_deliveries.is_empty()).then(|| view! {
                <h3>"Passwords waiting for a key"</h3>
                <ul data-testid="waiting-deliveries">{detail.waiting_deliveries.iter().map(|d| view! {
                    <li>{d.key.clone()} ", account " {d.slot} ", queued " <Moment at=d.queued_at /></li>
                }).collect_view()}</ul>
            })}
            {(!detail.key_history.is_empty()).then(|| view! {
                <h3>"What happened to the keys"</h3>
                <AuditTable entries=detail.key_history.clone() testid="key-history" />
            })}
        })}
        <form class="inline" on:submit=assign data-testid="assign">
            <span>
                <label for="assign-key">"Assign a ready key"</label>
                <select id="assign-key" bind:value=chosen>
                    <option value="">"—"</option>
                    {move || ready.get().into_iter().map(|k| view! { <option value=k.serial.clone()>{k.serial.clone()}</option> }).collect_view()}
                </select>
            </span>
            <button type="submit" class="secondary">"Assign"</button>
        </form>
        {move || code.get().map(|c| view! {
            <p class="notice" role="status">"Activation code, shown only now: " <code class="secret" data-testid="activation-code">{c}</code></p>
        })}
        {move || error.get().map(|e| view! { <Alert error=e /> })}
    }
}
