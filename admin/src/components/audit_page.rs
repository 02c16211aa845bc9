use latchkey_api::admin::AuditView;
use latchkey_api::Problem;
use latchkey_app::api;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::employee_list::encode;

/// The audit log: filter by actor, action and target; export what matches as CSV; and whether
/// the hash chain is whole.
#[component]
pub fn AuditPage() -> impl IntoView {
    let (actor, action, target) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let entries = RwSignal::new(Vec::<AuditView>::new());
    let intact = RwSignal::new(None::<bool>);
    let error = RwSignal::new(None::<Problem>);
    let query = move || {
        format!(
            "actor={}&action={}&target={}",
            encode(&actor.get_untracked()),
            encode(&action.get_untracked()),
            encode(&target.get_untracked())
        )
    };
    let load = move || {
        let url = format!("/api/admin/audit?{}", query());
        spawn_local(async move {
            match api::get::<Vec<AuditView>>(&url).await {
                Ok(e) => entries.set(e),
                Err(e) => error.set(Some(e)),
            }
            if let Ok(v) = api::get::<serde_json::Value>("/api/admin/audit/verify").await {
                intact.set(v["intact"].as_bool());
            }
        });
    };
    load();
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        load();
    };
    let csv = move || {
        entries.track();
        format!("/api/admin/audit?{}&format=csv", query())
    };
    view! {
        <section class="card" aria-labelledby="audit-title">
            <h1 id="audit-title">"Audit"</h1>
            {move || intact.get().map(|ok| if ok {
                view! { <p class="success" data-testid="chain-intact">"The log's hash chain is whole."</p> }.into_any()
            } else {
                view! { <p class="alert" role="alert">"The log's hash chain is broken: an entry was edited or deleted."</p> }.into_any()
            })}
            <form class="inline" on:submit=search>
                <label for="audit-actor">"Who"</label><input id="audit-actor" bind:value=actor />
                <label for="audit-action">"Action"</label><input id="audit-action" bind:value=action />
                <label for="audit-target">"Target"</label><input id="audit-target" bind:value=target />
                <button type="submit">"Filter"</button>
            </form>
            <p><a href=csv data-testid="audit-csv" download="audit.csv">"Export as CSV"</a></p>
            <table data-testid="audit">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Result"</th><th>"From"</th></tr></thead>
                <tbody>{move || entries.get().into_iter().map(|e| view! {
                    <tr><td>{e.at}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.target}</td><td>{e.result}</td>
                        <td>{e.client_addr.unwrap_or_default()}</td></tr>
                }).collect_view()}</tbody>
            </table>
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
