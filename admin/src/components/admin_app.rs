use latchkey_api::{AdminState, SessionView};
use latchkey_app::api;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::audit_page::AuditPage;
use super::employee_list::EmployeeList;
use super::employee_page::EmployeePage;
use super::keys_page::KeysPage;
use super::totp_enrol::TotpEnrol;
use super::totp_verify::TotpVerify;

/// Which page shows: follows from the session and the tab; no router.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    Employees,
    Employee(String),
    Keys,
    Audit,
}

#[derive(Clone, Copy)]
pub struct Nav(pub RwSignal<View>);

#[component]
pub fn AdminApp() -> impl IntoView {
    let session = RwSignal::new(None::<Option<SessionView>>);
    spawn_local(async move { session.set(Some(api::session().await.ok().flatten())) });
    let view = RwSignal::new(View::Employees);
    provide_context(Nav(view));
    let elevated = move || {
        session.update(|s| {
            if let Some(Some(v)) = s {
                v.admin = Some(AdminState::Active);
            }
        })
    };

    let body = move || {
        match session.get() {
        None => view! { <p class="hint">"Loading…"</p> }.into_any(),
        Some(None) => view! {
            <section class="card"><p>"Sign in on the " <a href="/">"portal"</a> " first, then come back."</p></section>
        }
        .into_any(),
        Some(Some(s)) => match s.admin {
            None => view! { <section class="card"><p class="alert" role="alert">"Only Latchkey's administrators may use these pages."</p></section> }.into_any(),
            Some(AdminState::EnrolTotp) => view! { <TotpEnrol on_done=elevated /> }.into_any(),
            Some(AdminState::VerifyTotp) => view! { <TotpVerify on_done=elevated /> }.into_any(),
            Some(AdminState::Active) => view! {
                <nav class="tabs">
                    <button type="button" data-testid="tab-employees" on:click=move |_| view.set(View::Employees)>"Employees"</button>
                    <button type="button" data-testid="tab-keys" on:click=move |_| view.set(View::Keys)>"Keys"</button>
                    <button type="button" data-testid="tab-audit" on:click=move |_| view.set(View::Audit)>"Audit"</button>
                </nav>
                {move || match view.get() {
                    View::Employees => view! { <EmployeeList /> }.into_any(),
                    View::Employee(username) => view! { <EmployeePage username=username /> }.into_any(),
                    View::Keys => view! { <KeysPage /> }.into_any(),
                    View::Audit => view! { <AuditPage /> }.into_any(),
                }}
            }
            .into_any(),
        },
    }
    };
    view! {
        <header class="bar"><span class="brand">"Latchkey administration"</span></header>
        <main class="wide">{body}</main>
    }
}
