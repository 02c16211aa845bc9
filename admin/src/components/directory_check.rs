use latchkey_api::admin::{CheckOutcome, DirectoryCheck};
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;

/// The directory self-check on the dashboard: run on demand (it asks the DC a good deal), it
/// only reads. Each outcome is written out and marked, never told by colour alone.
#[component]
pub fn DirectoryCheckCard() -> impl IntoView {
    let report = RwSignal::new(None::<DirectoryCheck>);
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);
    // The summary is the run's answer: focus moves there each time one comes in.
    let summary = NodeRef::<leptos::html::P>::new();
    Effect::new(move |_| {
        if let Some(p) = summary.get() {
            let _ = p.focus();
        }
    });
    let run = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::directory_check().await {
                Ok(r) => report.set(Some(r)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section aria-labelledby="directory-check-title" data-testid="directory-check">
            <h2 id="directory-check-title">"Directory check"</h2>
            <p class="hint">"What the portal needs of the directory: certificates, the service account, rights. Changes nothing."</p>
            <button type="button" class="secondary" data-testid="run-directory-check" on:click=run disabled=move || busy.get()>
                {move || if busy.get() { "Checking…" } else { "Run the check" }}
            </button>
            {move || report.get().map(|r| {
                let count = |o: CheckOutcome| r.checks.iter().filter(|c| c.outcome == o).count();
                let said = format!(
                    "Pass: {}. Warn: {}. Fail: {}.",
                    count(CheckOutcome::Pass),
                    count(CheckOutcome::Warn),
                    count(CheckOutcome::Fail)
                );
                view! {
                    <p role="status" tabindex="-1" node_ref=summary data-testid="directory-check-summary">{said}</p>
                    <table data-testid="directory-check-results">
                        <caption class="sr-only">"Directory check results"</caption>
                        <thead><tr><th>"Outcome"</th><th>"Check"</th><th>"Found"</th><th>"Fix"</th></tr></thead>
                        <tbody>
                            {r.checks.into_iter().map(|c| {
                                let (mark, word, class) = outcome(c.outcome);
                                view! {
                                    <tr data-outcome=word>
                                        <td class=class><span aria-hidden="true">{mark}" "</span>{word}</td>
                                        <td>{c.name}</td>
                                        <td>{c.detail}</td>
                                        <td>{c.fix.unwrap_or_default()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}

/// A mark, the word and its class (colour): the word says it without the colour.
fn outcome(o: CheckOutcome) -> (&'static str, &'static str, &'static str) {
    match o {
        CheckOutcome::Pass => ("✓", "pass", "outcome pass"),
        CheckOutcome::Warn => ("!", "warn", "outcome warn"),
        CheckOutcome::Fail => ("✗", "fail", "outcome fail"),
    }
}
