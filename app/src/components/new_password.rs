use leptos::prelude::*;

use super::checklist_view::ChecklistView;
use super::strength_meter::StrengthMeter;
use crate::live_check::LiveCheck;

/// A new password and its confirmation, with the live checklist and strength. `id` prefixes
/// every id inside (the fields, the checklist, the meter), so each form points at its own.
#[component]
pub fn NewPassword(
    id: &'static str,
    new: RwSignal<String>,
    confirm: RwSignal<String>,
    check: LiveCheck,
) -> impl IntoView {
    let (confirm_id, rules_id) = (format!("{id}-confirm"), format!("{id}-rules"));
    view! {
        <label for=id>"New password"</label>
        <input id=id type="password" autocomplete="new-password" required
            aria-describedby=rules_id.clone() bind:value=new />
        <label for=confirm_id.clone()>"New password again"</label>
        <input id=confirm_id type="password" autocomplete="new-password" required bind:value=confirm />
        <ChecklistView id=rules_id items=check.items />
        <StrengthMeter id=format!("{id}-strength") strength=check.strength />
    }
}
