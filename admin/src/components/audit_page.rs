use latchkey_api::admin::AuditView;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::audit_table::AuditTable;
use super::moment::Moment;
use crate::api::{self, AuditFilter};

/// The audit log: filter by actor, action and target (and failures only); export what matches
/// as CSV; and whether the hash chain is whole.
#[component]
pub fn AuditPage(filter: AuditFilter) -> impl IntoView {
    let (actor, action, target) =
        (RwSignal::new(filter.actor), RwSignal::new(filter.action), RwSignal::new(filter.target));
    let failures_only = RwSignal::new(filter.failures_only);
    let entries = RwSignal::new(Vec::<AuditView>::new());
    let intact = RwSignal::new(None::<bool>);
    let error = RwSignal::new(None::<Problem>);
    // What the page was opened with but has no field for (a result, a start) holds until the
    // administrator clears it.
    let (result, since) = (RwSignal::new(filter.result), RwSignal::new(filter.since));
    let current = move || AuditFilter {
        actor: actor.get_untracked(),
        action: action.get_untracked(),
        target: target.get_untracked(),
        failures_only: failures_only.get_untracked(),
        result: result.get_untracked(),
        since: since.get_untracked(),
    };
    // Whether older entries may follow the ones shown (a full page came back), and the filter
    // they were found with (fields edited since are not applied until Filter is pressed).
    let more = RwSignal::new(false);
    let shown = RwSignal::new(AuditFilter::default());
    let load = move || {
        let filter = current();
        shown.set(filter.clone());
        spawn_local(async move {
            match api::audit(&filter, None).await {
                Ok(e) => {
                    error.set(None);
                    more.set(e.len() == api::AUDIT_PER_PAGE);
                    entries.set(e)
                }
                Err(e) => error.set(Some(e)),
            }
            if let Ok(whole) = api::audit_intact().await {
                intact.set(Some(whole));
            }
        });
    };
    load();
    let older = move |_| {
        let (filter, oldest) = (shown.get_untracked(), entries.with_untracked(|e| e.last().and_then(|e| e.id)));
        spawn_local(async move {
            match api::audit(&filter, oldest).await {
                Ok(e) => {
                    error.set(None);
                    more.set(e.len() == api::AUDIT_PER_PAGE);
                    entries.update(|shown| shown.extend(e))
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        load();
    };
    let csv = move || {
        entries.track();
        api::audit_csv_url(&current())
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
                <span><label for="audit-actor">"Who"</label><input id="audit-actor" bind:value=actor /></span>
                <span><label for="audit-action">"Action"</label><input id="audit-action" bind:value=action /></span>
                <span><label for="audit-target">"Target"</label><input id="audit-target" bind:value=target /></span>
                <label><input type="checkbox" bind:checked=failures_only /> " Failures only"</label>
                <button type="submit" class="secondary">"Filter"</button>
            </form>
            {move || (since.get() > 0 || !result.get().is_empty()).then(|| view! {
                <p class="hint" data-testid="audit-narrowed">
                    {move || (!result.get().is_empty()).then(|| format!("Only “{}”. ", result.get().replace('_', " ")))}
                    {move || (since.get() > 0).then(|| view! { "Since " <Moment at=since.get() />". " })}
                    <button type="button" class="link" on:click=move |_| { result.set(String::new()); since.set(0); load(); }>
                        "Show all"
                    </button>
                </p>
            })}
            <p><a href=csv data-testid="audit-csv" download="audit.csv">"Export as CSV"</a></p>
            {move || view! { <AuditTable entries=entries.get() testid="audit" /> }}
            {move || more.get().then(|| view! {
                <p><button type="button" class="secondary" data-testid="audit-older" on:click=older>"Show older entries"</button></p>
            })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
