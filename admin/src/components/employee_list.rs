use latchkey_api::admin::{EmployeePage, SyncReport};
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_app::{Nav, View};
use crate::api::{self, PageAt, EMPLOYEES_PER_PAGE as PAGE};

/// Employees from the directory group: sync, search, filter by state, pages of 50.
#[component]
pub fn EmployeeList(state: String) -> impl IntoView {
    let Nav(nav) = expect_context::<Nav>();
    let query = RwSignal::new(String::new());
    let state = RwSignal::new(state);
    let at = RwSignal::new(PageAt::First);
    // The position of the page's first row in the whole list, for "51–100 of 240".
    let start = RwSignal::new(0u64);
    let page = RwSignal::new(None::<EmployeePage>);
    let synced = RwSignal::new(None::<SyncReport>);
    let error = RwSignal::new(None::<Problem>);

    let load = move || {
        let (q, s, a) = (query.get_untracked(), state.get_untracked(), at.get_untracked());
        spawn_local(async move {
            match api::employees(&q, &s, &a).await {
                Ok(p) => {
                    error.set(None);
                    if p.previous.is_none() {
                        start.set(0);
                    }
                    page.set(Some(p))
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let sync = move |_| {
        error.set(None);
        spawn_local(async move {
            match api::sync_employees().await {
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
        at.set(PageAt::First);
        load();
    };
    let step = move |forward: bool| {
        let Some((shown, previous, next)) =
            page.with_untracked(|p| p.as_ref().map(|p| (p.employees.len() as u64, p.previous.clone(), p.next.clone())))
        else {
            return;
        };
        match (forward, next, previous) {
            (true, Some(next), _) => {
                start.update(|s| *s += shown);
                at.set(PageAt::After(next));
            }
            (false, _, Some(previous)) => {
                start.update(|s| *s = s.saturating_sub(PAGE));
                at.set(PageAt::Before(previous));
            }
            _ => return,
        }
        load();
    };

    view! {
        <section class="card" aria-labelledby="employees-title">
            <div class="row">
                <h1 id="employees-title">"Employees"</h1>
                <button type="button" class="secondary" data-testid="sync" on:click=sync>"Sync from the directory"</button>
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
                <select id="employee-state" bind:value=state on:change=move |_| { at.set(PageAt::First); load(); }>
                    {[("", "everyone"), ("active", "active"), ("disabled", "disabled in the directory"),
                      ("removed", "left the group"), ("without_key", "without a key"), ("expired", "password expired"),
                      ("expiring_7", "password expires within 7 days"), ("expiring_30", "password expires within 30 days"),
                      ("waiting_delivery", "a password waiting over a day for their key")]
                        .into_iter()
                        .map(|(value, label)| view! { <option value=value selected=state.get_untracked() == value>{label}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="secondary">"Find"</button>
            </form>
            {move || page.get().map(|p| { let shown = p.employees.len() as u64; view! {
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
                    <span class="hint" data-testid="employee-range">{
                        let first = start.get_untracked();
                        format!("{}–{} of {}", (first + 1).min(p.total), (first + shown).min(p.total), p.total)
                    }</span>
                    <span>
                        <button type="button" class="link" data-testid="previous-page" disabled=p.previous.is_none()
                            on:click=move |_| step(false)>"Previous"</button>
                        " "
                        <button type="button" class="link" data-testid="next-page" disabled=p.next.is_none()
                            on:click=move |_| step(true)>"Next"</button>
                    </span>
                </div>
            }})}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
