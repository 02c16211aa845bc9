use latchkey_api::Problem;
use latchkey_policy::Outcome;
use leptos::prelude::*;

/// An error from the server, read out by screen readers as it appears; a policy violation
/// lists every failed rule. With an `id` it can take the focus (the answer to a submit).
#[component]
pub fn Alert(error: Problem, #[prop(optional)] id: Option<&'static str>) -> impl IntoView {
    let failed: Vec<String> = match &error.report {
        Some(report) => {
            report.rules.iter().filter(|r| r.outcome == Outcome::Failed).map(|r| r.rule.message()).collect()
        }
        None => vec![],
    };
    let headline =
        if failed.is_empty() { error.message.clone() } else { "The new password does not meet the policy:".into() };
    view! {
        <div class="alert" role="alert" id=id tabindex=id.map(|_| "-1") data-code=error.code.clone()>
            <p>{headline}</p>
            {(!failed.is_empty()).then(|| view! {
                <ul>{failed.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}</ul>
            })}
        </div>
    }
}
