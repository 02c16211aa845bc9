use latchkey_app::components::format::{iso, local_datetime_with_zone, now};
use latchkey_app::dates::ago;
use leptos::prelude::*;

/// A moment in the records: relative within a day, otherwise local with its time zone; the
/// exact moment in the element's title and `datetime`.
#[component]
pub fn Moment(at: i64) -> impl IntoView {
    let shown = ago(at, now()).unwrap_or_else(|| local_datetime_with_zone(at));
    view! { <time datetime=iso(at) title=local_datetime_with_zone(at)>{shown}</time> }
}
