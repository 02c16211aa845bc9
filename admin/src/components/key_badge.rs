use latchkey_api::registry::{KeyStatus, StatusReason};
use leptos::prelude::*;

/// A key's status as a labelled badge, with why it left service when known.
#[component]
pub fn KeyBadge(status: KeyStatus, reason: Option<StatusReason>) -> impl IntoView {
    let title = reason.map(|r| r.describe());
    view! {
        <span class=format!("badge {}", status.label()) title=title>{status.label()}</span>
        {reason.map(|r| view! { " " <span class="hint">{r.describe()}</span> })}
    }
}
