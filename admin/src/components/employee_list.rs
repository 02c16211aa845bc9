use latchkey_api::admin::{EmployeePage, SyncReport};
use latchkey_api::Problem;
use latchkey_app::api;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_app::{Nav, View};

const PAGE: u64 = 50;

/// Employees from the directory group: sync, search, pages of 50.
#[component]
pub fn EmployeeList() -> impl IntoView {
    let Nav(nav) = expect_context::<Nav>();
    let query = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let offset = RwSignal::new(0u64);
    let page = RwSignal::new(None::<EmployeePage>);
    let synced = RwSignal::new(None::<SyncReport>);
    let error = RwSignal::new(None::<Problem>);

    let load = move || {
        let url = format!(
            "/api/admin/employees?q={}&offset={}&limit={PAGE}",
            encode(&query.get_untracked()),
            offset.get_untracked()
        );
        spawn_local(async move {
            match api::get::<EmployeePage>(&url).await {
                Ok(p) => page.set(Some(p)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let sync = move |_| {
        error.set(None);
        spawn_local(async move {
            match api::post_json::<_, SyncReport>("/api/admin/employees/sync", &()).await {
                Ok(r) => {
                    synced.set(Some(r));
                    load();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        offset.set(0);
        load();
    };
    let step = move |forward: bool| {
        let total = page.with_untracked(|p| p.as_ref().map(|p| p.total).unwrap_or(0));
        let o = offset.get_untracked();
        offset.set(if forward {
            (o + PAGE).min(total.saturating_sub(1) / PAGE * PAGE)
        } else {
            o.saturating_sub(PAGE)
        });
        load();
    };

    view! {
        <section class="card" aria-labelledby="employees-title">
            <div class="row">
                <h1 id="employees-title">"Employees"</h1>
                <button type="button" data-testid="sync" on:click=sync>"Sync from the directory"</button>
            </div>
            {move || synced.get().map(|r| view! {
                <p class="success" role="status" data-testid="synced">
                    {format!("Synced: {} added, {} updated, {} removed, {} unchanged.", r.added, r.updated, r.removed, r.unchanged)}
                </p>
            })}
            <form class="inline" on:submit=search>
                <label for="employee-search">"Search"</label>
                <input id="employee-search" type="search" bind:value=query />
                <label for="employee-state">"Show"</label>
                <select id="employee-state" bind:value=state>
                    <option value="">"everyone"</option>
                    <option value="active">"active"</option>
                    <option value="disabled">"disabled in the directory"</option>
                    <option value="removed">"left the group"</option>
                    <option value="without_key">"without a key"</option>
                </select>
                <button type="submit">"Find"</button>
            </form>
            {move || page.get().map(|p| view! {
                <table>
                    <thead><tr><th>"Logon name"</th><th>"Name"</th><th>"Keys"</th><th>"State"</th></tr></thead>
                    <tbody>
                        {p.employees.into_iter().map(|e| {
                            let username = e.username.clone();
                            let state = if e.removed { "left the group" } else if e.disabled { "disabled" } else { "" };
                            view! {
                                <tr>
                                    <td><button type="button" class="link" data-testid="employee" data-username=e.username.clone()
                                        on:click=move |_| nav.set(View::Employee(username.clone()))>{e.username.clone()}</button></td>
                                    <td>{e.display_name}</td>
                                    <td>{e.keys}</td>
                                    <td>{state}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <div class="row">
                    <span class="hint">{format!("{}–{} of {}", (p.offset + 1).min(p.total), (p.offset + PAGE).min(p.total), p.total)}</span>
                    <span>
                        <button type="button" class="link" on:click=move |_| step(false)>"Previous"</button>
                        " "
                        <button type="button" class="link" on:click=move |_| step(true)>"Next"</button>
                    </span>
                </div>
            })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}

/// Percent-encodes a query parameter's value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
