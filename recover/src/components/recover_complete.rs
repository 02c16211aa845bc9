use latchkey_api::Problem;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::error_box::ErrorBox;
use crate::api;
use latchkey_app::focus;

/// The second step without the key: the authenticator's code, the mailed code and the new
/// password twice. A mismatch is refused here, on the second field; the server checks the
/// codes and the policy.
#[component]
pub fn RecoverComplete(username: String) -> impl IntoView {
    let username = StoredValue::new(username);
    let totp = RwSignal::new(String::new());
    let mail = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let mismatch = RwSignal::new(false);
    let error = RwSignal::new(None::<Problem>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let (first, confirm_input, said) = (
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::P>::new(),
    );
    // The codes are the next step: focus moves to the first, which reads the server's answer
    // as its description.
    focus::on_mount(first);
    focus::on_mount(said);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        if new.get_untracked() != confirm.get_untracked() {
            mismatch.set(true);
            focus::now(confirm_input);
            return;
        }
        mismatch.set(false);
        busy.set(true);
        let (t, m, p) =
            (totp.get_untracked().trim().to_string(), mail.get_untracked().trim().to_string(), new.get_untracked());
        spawn_local(async move {
            match api::complete(username.get_value(), t, m, p).await {
                Ok(()) => {
                    // Nothing typed stays in the page.
                    for field in [totp, mail, new, confirm] {
                        field.set(String::new());
                    }
                    done.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    move || {
        if done.get() {
            return view! {
                <p class="success" role="status" tabindex="-1" node_ref=said data-testid="recover-complete-done">
                    "Your password was changed. Sign in with it. " <a href="/">"Go to sign-in"</a>
                </p>
            }
            .into_any();
        }
        view! {
            <form on:submit=submit data-testid="recover-complete-form">
                <label for="recover-totp">"Code from your authenticator app"</label>
                <input id="recover-totp" data-testid="recover-totp" inputmode="numeric" autocomplete="one-time-code"
                    required node_ref=first aria-describedby="recover-started" bind:value=totp />
                <label for="recover-mail-code">"Code we mailed to your recovery address"</label>
                <input id="recover-mail-code" data-testid="recover-mail-code" inputmode="numeric" autocomplete="off"
                    required bind:value=mail />
                <label for="recover-new">"New password"</label>
                <input id="recover-new" data-testid="recover-new" type="password" autocomplete="new-password" required
                    bind:value=new />
                <label for="recover-confirm">"New password again"</label>
                <input id="recover-confirm" data-testid="recover-confirm" type="password" autocomplete="new-password"
                    required node_ref=confirm_input bind:value=confirm
                    aria-invalid=move || mismatch.get().then_some("true")
                    aria-describedby=move || mismatch.get().then_some("recover-confirm-error") />
                {move || mismatch.get().then(|| view! {
                    <p id="recover-confirm-error" class="alert" role="alert" data-testid="recover-confirm-error">
                        "The two passwords differ. Type the same password twice."
                    </p>
                })}
                <button type="submit" data-testid="recover-complete" disabled=move || busy.get()>
                    {move || if busy.get() { "Changing…" } else { "Change my password" }}
                </button>
            </form>
            {move || error.get().map(|e| view! { <ErrorBox error=e /> })}
        }
        .into_any()
    }
}
