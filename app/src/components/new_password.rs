use leptos::prelude::*;

use super::checklist_view::ChecklistView;
use super::strength_meter::StrengthMeter;
use crate::live_check::LiveCheck;

/// A new password and its confirmation, with the live checklist and strength. `id` prefixes
/// the fields' ids (a page may hold two of these).
#[component]
pub fn NewPassword(
    id: &'static str,
    new: RwSignal<String>,
    confirm: RwSignal<String>,
    check: LiveCheck,
) -> impl IntoView {
    let confirm_id = format!("{id}-confirm");
    view! {
        <label for=id>"New password"</label>
        <input id=id type="password" autocomplete="new-password" required
            aria-describedby="password-rules" bind:value=new />
        <label for=confirm_id.clone()>"New password again"</label>
        <input id=confirm_id type="password" autocomplete="new-password" required bind:value=confirm />
        <ChecklistView items=check.items />
        <StrengthMeter strength=check.strength />
    }
}
