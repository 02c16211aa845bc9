use latchkey_api::admin::Dashboard;
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::admin_app::{Nav, View};
use super::directory_check::DirectoryCheckCard;
use super::mail_card::MailCard;
use super::moment::Moment;
use crate::api::{self, AuditFilter};

/// The numbers an administrator starts the day with; each opens the list it counts.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let Nav(nav) = expect_context::<Nav>();
    let numbers = RwSignal::new(None::<Dashboard>);
    let error = RwSignal::new(None::<Problem>);
    spawn_local(async move {
        match api::dashboard().await {
            Ok(d) => numbers.set(Some(d)),
            Err(e) => error.set(Some(e)),
        }
    });
    let figure = move |label: &'static str, testid: &'static str, n: u64, to: View| {
        view! {
            <div>
                <div class="figure" data-testid=testid>{n}</div>
                <button type="button" class="link" on:click=move |_| nav.set(to.clone())>{label}</button>
            </div>
        }
    };
    let employees = |state: &str| View::Employees(state.to_string());
    view! {
        <section class="card" aria-labelledby="dashboard-title">
            <h1 id="dashboard-title">"Dashboard"</h1>
            {move || numbers.get().map(|d| {
                let e = d.employees.clone();
                let day_ago = d.now - 86_400;
                let failures = AuditFilter {
                    failures_only: true,
                    action: "sign_in,sign_in_with_key,key_sign_in".into(),
                    since: day_ago,
                    ..AuditFilter::default()
                };
                let locked = AuditFilter { result: "locked_out".into(), since: day_ago, ..AuditFilter::default() };
                view! {
                    <h2>"Employees"</h2>
                    <div class="numbers">
                        {figure("active", "n-active", e.active, employees("active"))}
                        {figure("disabled in the directory", "n-disabled", e.disabled, employees("disabled"))}
                        {figure("left the group", "n-removed", e.removed, employees("removed"))}
                        {figure("without a key", "n-without-key", e.without_key, employees("without_key"))}
                    </div>
                    <h2>"Passwords"</h2>
                    <p class="hint">"As of the last sync."</p>
                    <div class="numbers">
                        {figure("expired", "n-expired", e.expired, employees("expired"))}
                        {figure("expire within 7 days", "n-expiring-7", e.expiring_7, employees("expiring_7"))}
                        {figure("expire within 30 days", "n-expiring-30", e.expiring_30, employees("expiring_30"))}
                    </div>
                    <h2>"Keys"</h2>
                    <div class="numbers">
                        {d.keys.iter().map(|k| {
                            let testid = format!("n-keys-{}", k.status.label());
                            view! {
                                <div>
                                    <div class="figure" data-testid=testid>{k.count}</div>
                                    <button type="button" class="link" on:click={
                                        let status = k.status;
                                        move |_| nav.set(View::Keys(Some(status)))
                                    }>{k.status.label()}</button>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                    <h2>"Last 24 hours"</h2>
                    <div class="numbers">
                        {figure("refused sign-ins", "n-failed-sign-ins", d.failed_sign_ins_24h, View::Audit(failures))}
                        {figure("accounts refused as locked out", "n-locked-out", d.locked_out_24h, View::Audit(locked))}
                        {figure("deliveries waiting over a day", "n-waiting", d.deliveries_waiting_over_a_day,
                            employees("waiting_delivery"))}
                    </div>
                    <p data-testid="last-sync">{match d.last_sync {
                        None => view! { "No sync yet." }.into_any(),
                        Some(s) => view! { "Last sync: " <Moment at=s.at /> " — " {s.result} }.into_any(),
                    }}</p>
                }
            })}
            {move || error.get().map(|e| view! { <Alert error=e /> })}
            <MailCard />
            <DirectoryCheckCard />
        </section>
    }
}
