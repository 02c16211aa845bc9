//! Focus follows each action to its answer (the next step, or the error): screen-reader and
//! keyboard users land where the page changed. Shared with the recovery pages.

use std::time::Duration;

use leptos::html::ElementType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Focuses the element with `id` once the change that shows it is painted (views update after
/// the signal that drives them). Messages that take focus carry `tabindex="-1"`.
pub fn soon(id: &'static str) {
    set_timeout(move || by_id(id), Duration::ZERO);
}

fn by_id(id: &str) {
    let element = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(element) = element {
        let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
        // A field takes the caret after what it holds: typing goes on where it stopped.
        if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
            let end = input.value().encode_utf16().count() as u32;
            let _ = input.set_selection_range(end, end);
        }
    }
}

/// Focuses the element every time it is mounted. (`NodeRef::on_load` runs once per ref; these
/// elements come and go.)
pub fn on_mount<E>(node: NodeRef<E>)
where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
{
    Effect::new(move |_| {
        if let Some(element) = node.get() {
            let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
        }
    });
}

/// Focuses the element now, if it is on the page (a field that stays, with a new error).
pub fn now<E>(node: NodeRef<E>)
where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
{
    if let Some(element) = node.get_untracked() {
        let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
    }
}
