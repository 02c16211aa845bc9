use latchkey_api::registry::KeyStatus;
use latchkey_api::{AdminState, SessionView};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::audit_page::AuditPage;
use super::confirm_dialog::{Confirm, ConfirmDialog};
use super::dashboard::DashboardPage;
use super::employee_list::EmployeeList;
use super::employee_page::EmployeePage;
use super::keys_page::KeysPage;
use super::totp_enrol::TotpEnrol;
use super::totp_verify::TotpVerify;
use crate::api::{self, AuditFilter};

/// Which page shows, with the filter it opens with: follows from the session and the tab; no
/// router.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    Dashboard,
    /// The list's `state` filter (`""` for everyone).
    Employees(String),
    Employee(String),
    Keys(Option<KeyStatus>),
    Audit(AuditFilter),
}

impl View {
    fn tab(&self) -> Tab {
        match self {
            View::Dashboard => Tab::Dashboard,
            View::Employees(_) | View::Employee(_) => Tab::Employees,
            View::Keys(_) => Tab::Keys,
            View::Audit(_) => Tab::Audit,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Dashboard,
    Employees,
    Keys,
    Audit,
}

#[derive(Clone, Copy)]
pub struct Nav(pub RwSignal<View>);

#[component]
pub fn AdminApp() -> impl IntoView {
    let session = RwSignal::new(None::<Option<SessionView>>);
    spawn_local(async move { session.set(Some(api::session().await.ok().flatten())) });
    let view = RwSignal::new(View::Dashboard);
    provide_context(Nav(view));
    provide_context(Confirm(RwSignal::new(None)));
    let elevated = move || {
        session.update(|s| {
            if let Some(Some(v)) = s {
                v.admin = Some(AdminState::Active);
            }
        })
    };
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = api::sign_out().await;
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href("/");
            }
        })
    };
    let tab = move |which: Tab, label: &'static str, testid: &'static str, to: View| {
        view! {
            <button type="button" class="link" data-testid=testid
                aria-current=move || (view.with(View::tab) == which).then_some("page")
                on:click=move |_| view.set(to.clone())>{label}</button>
        }
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
                <nav class="tabs" aria-label="Administration">
                    {tab(Tab::Dashboard, "Dashboard", "tab-dashboard", View::Dashboard)}
                    {tab(Tab::Employees, "Employees", "tab-employees", View::Employees(String::new()))}
                    {tab(Tab::Keys, "Keys", "tab-keys", View::Keys(None))}
                    {tab(Tab::Audit, "Audit", "tab-audit", View::Audit(AuditFilter::default()))}
                </nav>
                {move || match view.get() {
                    View::Dashboard => view! { <DashboardPage /> }.into_any(),
                    View::Employees(state) => view! { <EmployeeList state=state /> }.into_any(),
                    View::Employee(username) => view! { <EmployeePage username=username /> }.into_any(),
                    View::Keys(status) => view! { <KeysPage status=status /> }.into_any(),
                    View::Audit(filter) => view! { <AuditPage filter=filter /> }.into_any(),
                }}
            }
            .into_any(),
        },
    }
    };
    let who = move || session.get().flatten().map(|s| s.display_name).unwrap_or_default();
    view! {
        <header class="bar">
            <span class="brand">"Latchkey administration"</span>
            <span class="spacer"></span>
            <span data-testid="admin-name">{who}</span>
            <a href="/">"Portal"</a>
            {move || session.get().flatten().map(|_| view! {
                <button type="button" data-testid="sign-out" on:click=sign_out>"Sign out"</button>
            })}
        </header>
        <main class="wide">{body}</main>
        <ConfirmDialog />
    }
}
