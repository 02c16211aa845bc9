use latchkey_api::admin::AuditView;
use leptos::prelude::*;

use super::moment::Moment;

/// Audit entries, newest first, their times as people read them.
#[component]
pub fn AuditTable(entries: Vec<AuditView>, testid: &'static str) -> impl IntoView {
    view! {
        <table data-testid=testid>
            <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Result"</th><th>"From"</th></tr></thead>
            <tbody>{entries.into_iter().map(|e| view! {
                <tr><td><Moment at=e.at /></td><td>{e.actor}</td><td>{e.action.replace('_', " ")}</td><td>{e.target}</td>
                    <td>{e.result.replace('_', " ")}</td><td>{e.client_addr.unwrap_or_default()}</td></tr>
            }).collect_view()}</tbody>
        </table>
    }
}
