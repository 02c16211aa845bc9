use latchkey_api::admin::EmployeeDetail;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_app::{Nav, View};
use super::audit_table::AuditTable;
use super::employee_accounts::EmployeeAccounts;
use super::employee_facts::EmployeeFacts;
use super::employee_keys::EmployeeKeys;
use super::reset_form::ResetForm;
use crate::api;

/// One employee: what the directory says and the flags, their keys and accounts, a reset,
/// and what was done as or to them.
#[component]
pub fn EmployeePage(username: String) -> impl IntoView {
    let Nav(nav) = expect_context::<Nav>();
    let detail = RwSignal::new(None::<EmployeeDetail>);
    let error = RwSignal::new(None::<Problem>);
    let user = StoredValue::new(username);
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
    view! {
        <section class="card" aria-labelledby="employee-title">
            <button type="button" class="link" on:click=move |_| nav.set(View::Employees(String::new()))>"← Employees"</button>
            {move || detail.get().map(|d| view! {
                <h1 id="employee-title" data-testid="employee-title">{d.display_name.clone()} " (" {d.username.clone()} ")"</h1>
                <EmployeeFacts detail=d.clone() reload=reload />
                <EmployeeKeys detail=d.clone() reload=reload />
                <EmployeeAccounts detail=d.clone() reload=reload />
                <ResetForm detail=d.clone() reload=reload />
                <h2>"Audit"</h2>
                <AuditTable entries=d.audit.into_iter().take(20).collect() testid="employee-audit" />
            })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
        </section>
    }
}
