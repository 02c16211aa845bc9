use leptos::prelude::*;

/// For a change in the directory and on the key: a password the user types, or one the server
/// generates for the key alone.
#[component]
pub fn HowChoice(generated: RwSignal<bool>) -> impl IntoView {
    view! {
        <fieldset class="choice">
            <legend>"New password"</legend>
            <label>
                <input type="radio" name="how" id="how-typed" prop:checked=move || !generated.get()
                    on:change=move |_| generated.set(false) />
                "I type it"
            </label>
            <label>
                <input type="radio" name="how" id="how-generated" prop:checked=move || generated.get()
                    on:change=move |_| generated.set(true) aria-describedby="how-hint" />
                "Generate one for me"
            </label>
            <p class="hint" id="how-hint">"A generated password meets the policy and is never shown to anyone; \
                the key types it for you."</p>
        </fieldset>
    }
}
