use latchkey_api::admin::EmployeeDetail;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::confirm_dialog::Confirm;
use super::employee_page::EmployeeName;
use crate::api;

/// Whether the employee has an authenticator app for confirming changes, and resetting it
/// (a lost phone): asked first, naming the employee.
#[component]
pub fn EmployeeTotp(detail: RwSignal<Option<EmployeeDetail>>, reload: Callback<()>) -> impl IntoView {
    let confirm = expect_context::<Confirm>();
    let error = RwSignal::new(None::<Problem>);
    let done = RwSignal::new(false);
    let EmployeeName(user) = expect_context::<EmployeeName>();
    // The button goes with the reset: focus moves to what happened.
    let said = NodeRef::<leptos::html::P>::new();
    said.on_load(|p| {
        let _ = p.focus();
    });
    let enrolled = move || detail.with(|d| d.as_ref().is_some_and(|d| d.totp_enrolled));
    let name = move || detail.with(|d| d.as_ref().map(|d| d.display_name.clone()).unwrap_or_default());
    let reset = move |_| {
        confirm.ask(
            format!("Reset {}'s authenticator app?", name()),
            format!(
                "Its codes and {}'s recovery codes stop working at once; they set up a new app before their next \
                 change.",
                name()
            ),
            "Reset authenticator",
            move || {
                spawn_local(async move {
                    match api::reset_totp(&user.get_value()).await {
                        Ok(()) => {
                            error.set(None);
                            done.set(true);
                            reload.run(());
                        }
                        Err(e) => error.set(Some(e)),
                    }
                })
            },
        );
    };
    view! {
        <p class="inline" data-testid="totp-status">
            {move || if enrolled() {
                view! {
                    <span>"Authenticator app: set up"</span>
                    <button type="button" class="secondary" data-testid="reset-totp" on:click=reset>"Reset authenticator"</button>
                }.into_any()
            } else {
                view! { <span>"Authenticator app: not set up"</span> }.into_any()
            }}
        </p>
        {move || done.get().then(|| view! {
            <p class="success" role="status" tabindex="-1" node_ref=said data-testid="totp-reset-done">"The authenticator app was reset."</p>
        })}
        {move || error.get().map(|e| view! { <Alert error=e /> })}
    }
}
