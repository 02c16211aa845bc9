use leptos::prelude::*;

use crate::offer::Target;

/// Where the change goes, as a radio group: shown only when there is a choice (a key is
/// connected). Arrow keys move within it, Tab past it.
#[component]
pub fn TargetChoice(
    targets: Memo<Vec<Target>>,
    target: Memo<Option<Target>>,
    chosen: RwSignal<Option<Target>>,
) -> impl IntoView {
    view! {
        <fieldset class="choice" data-testid="target">
            <legend>"Change it in"</legend>
            {move || targets.get().into_iter().map(|t| view! {
                <label>
                    <input type="radio" name="target" id=t.id() prop:checked=move || target.get() == Some(t)
                        on:change=move |_| chosen.set(Some(t)) />
                    {t.label()}
                </label>
            }).collect_view()}
        </fieldset>
    }
}
