use latchkey_api::admin::{EmployeeDetail, FlagsChange};
use latchkey_api::Problem;
use latchkey_app::components::alert::Alert;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::confirm_dialog::Confirm;
use super::employee_page::EmployeeName;
use super::moment::Moment;
use crate::api;

/// What the directory says of the employee's password, and the flags an administrator sets
/// ("must change at next logon", "may not change"), asked first when they restrict the employee.
#[component]
pub fn EmployeeFacts(detail: RwSignal<Option<EmployeeDetail>>, reload: Callback<()>) -> impl IntoView {
    let confirm = expect_context::<Confirm>();
    let error = RwSignal::new(None::<Problem>);
    let EmployeeName(user) = expect_context::<EmployeeName>();
    let name = move || detail.with(|d| d.as_ref().map(|d| d.display_name.clone()).unwrap_or_default());
    let act = move |work: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Problem>>>>| {
        spawn_local(async move {
            match work.await {
                Ok(()) => {
                    error.set(None);
                    reload.run(())
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let flags = move |flags: FlagsChange| act(Box::pin(async move { api::set_flags(&user.get_value(), &flags).await }));
    let facts = move || detail.with(|d| d.as_ref().and_then(|d| d.directory.clone()));
    let must = move || facts().is_some_and(|f| f.must_change);
    let may = move || facts().is_some_and(|f| f.may_change);
    let must_change = move |_| {
        if must() {
            return flags(FlagsChange { must_change: Some(false), may_change: None });
        }
        confirm.ask(
            format!("Require {} to change the password at next logon?", name()),
            format!("{} cannot sign in to Windows with the current password until they change it.", name()),
            "Require a change",
            move || flags(FlagsChange { must_change: Some(true), may_change: None }),
        );
    };
    let may_change = move |_| {
        if !may() {
            return flags(FlagsChange { must_change: None, may_change: Some(true) });
        }
        confirm.ask(
            format!("Forbid {} to change the password?", name()),
            format!("{} will not be able to change it here or in Windows until you allow it again.", name()),
            "Forbid changing",
            move || flags(FlagsChange { must_change: None, may_change: Some(false) }),
        );
    };
    let unlock = move |_| act(Box::pin(async move { api::unlock(&user.get_value()).await }));
    view! {
        {move || match facts() {
            None => view! { <p class="notice">"The directory cannot be asked right now."</p> }.into_any(),
            Some(f) => view! {
                <p data-testid="facts">
                    {f.password_last_set.map(|t| view! { "Password set " <Moment at=t />". " })}
                    {f.expires_at.map(|t| view! { "Expires " <Moment at=t />". " })}
                    {f.locked_out.then_some("Locked out. ")}
                    {f.must_change.then_some("Must change at next logon. ")}
                    {(!f.may_change).then_some("May not change the password. ")}
                </p>
                <div class="inline">
                    <button type="button" class="secondary" data-testid="must-change" on:click=must_change>
                        {if f.must_change { "Clear “must change at next logon”" } else { "Require a change at next logon" }}
                    </button>
                    <button type="button" class="secondary" data-testid="may-change" on:click=may_change>
                        {if f.may_change { "Forbid changing the password" } else { "Allow changing the password" }}
                    </button>
                    {f.locked_out.then(|| view! { <button type="button" class="secondary" on:click=unlock>"Unlock"</button> })}
                </div>
            }.into_any(),
        }}
        {move || error.get().map(|e| view! { <Alert error=e /> })}
    }
}
