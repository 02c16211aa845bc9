use leptos::prelude::*;

use crate::when;

/// A moment in the records: relative when recent, local with its time zone otherwise.
#[component]
pub fn Moment(at: i64) -> impl IntoView {
    view! { <time datetime=when::iso(at) title=when::local(at)>{when::readable(at, when::now())}</time> }
}
