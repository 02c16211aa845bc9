use latchkey_api::admin::EmployeeDetail;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use latchkey_app::components::format::{iso, local_datetime_with_zone};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_app::{Nav, View};
use super::audit_table::AuditTable;
use super::employee_accounts::EmployeeAccounts;
use super::employee_facts::EmployeeFacts;
use super::employee_keys::EmployeeKeys;
use super::employee_totp::EmployeeTotp;
use super::reset_form::ResetForm;
use crate::api;

/// The logon name of the employee the page shows (the parts act on it).
#[derive(Clone, Copy)]
pub struct EmployeeName(pub StoredValue<String>);

/// One employee: what the directory says and the flags, their authenticator app, their keys
/// and accounts, a reset, and what was done as or to them.
#[component]
pub fn EmployeePage(username: String) -> impl IntoView {
    let Nav(nav) = expect_context::<Nav>();
    let detail = RwSignal::new(None::<EmployeeDetail>);
    let error = RwSignal::new(None::<Problem>);
    let user = StoredValue::new(username);
    provide_context(EmployeeName(user));
    let load = move || {
        spawn_local(async move {
            match api::employee(&user.get_value()).await {
                Ok(d) => {
                    detail.set(Some(d));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();
    let reload = Callback::new(move |()| load());
    // Changes once, when the first answer is in: a reload does not rebuild the parts.
    let loaded = Memo::new(move |_| detail.with(Option::is_some));
    view! {
        <section class="card" aria-labelledby="employee-title">
            <button type="button" class="link" on:click=move |_| nav.set(View::Employees(String::new()))>"← Employees"</button>
            // Rendered once the first answer is in; the parts follow `detail` from then on, so a
            // reload keeps what is being typed and what was shown once (an activation code).
            {move || loaded.get().then(|| view! {
                <h1 id="employee-title" data-testid="employee-title">
                    {move || detail.with(|d| d.as_ref().map(|d| format!("{} ({})", d.display_name, d.username)))}
                </h1>
                {move || detail.with(|d| d.as_ref().and_then(|d| d.review_requested_at)).map(|at| view! {
                    <p class="notice" data-testid="review-requested">
                        "Password reset without the key on " <time datetime=iso(at)>{local_datetime_with_zone(at)}</time>
                        ": please review."
                    </p>
                })}
                <EmployeeFacts detail=detail reload=reload />
                <EmployeeTotp detail=detail reload=reload />
                <EmployeeKeys detail=detail reload=reload />
                <EmployeeAccounts detail=detail reload=reload />
                <ResetForm detail=detail reload=reload />
                <h2>"Audit"</h2>
                {move || detail.get().map(|d| view! {
                    <AuditTable entries=d.audit.into_iter().take(20).collect() testid="employee-audit" />
                })}
            })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
