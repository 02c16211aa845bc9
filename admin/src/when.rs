//! Moments as people read them: "3 min ago" for the last day, otherwise the date and time in
//! the browser's time zone, named; the exact moment in the element's title and `datetime`.

use js_sys::{Date, Object, Reflect};
use wasm_bindgen::JsValue;

/// Unix seconds now, by the browser's clock.
pub fn now() -> i64 {
    (Date::now() / 1000.0) as i64
}

/// `at` (Unix seconds) relative to `now` when within a day, else as a local date and time.
pub fn readable(at: i64, now: i64) -> String {
    let ago = now - at;
    match ago {
        i64::MIN..=-60 => local(at),
        -59..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", ago / 60),
        3600..=86_399 => format!("{} h ago", ago / 3600),
        _ => local(at),
    }
}

/// The date and time in the browser's time zone, with the zone's name.
pub fn local(at: i64) -> String {
    let options = Object::new();
    for (key, value) in [("year", "numeric"), ("month", "short"), ("day", "numeric"), ("hour", "2-digit")]
        .into_iter()
        .chain([("minute", "2-digit"), ("timeZoneName", "short")])
    {
        let _ = Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    let date = Date::new(&JsValue::from_f64(at as f64 * 1000.0));
    String::from(date.to_locale_string("default", &options))
}

/// ISO 8601 in UTC, for `<time datetime>`.
pub fn iso(at: i64) -> String {
    String::from(Date::new(&JsValue::from_f64(at as f64 * 1000.0)).to_iso_string())
}
