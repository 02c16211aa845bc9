use js_sys::{Date, Object, Reflect};
use wasm_bindgen::JsValue;

/// A moment (Unix seconds) in the user's locale, date and time.
pub fn local_datetime(at: i64) -> String {
    String::from(date(at).to_locale_string("default", &JsValue::UNDEFINED))
}

/// A moment in the user's locale, with the time zone's name (for records read later).
pub fn local_datetime_with_zone(at: i64) -> String {
    let options = Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "long")] {
        let _ = Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    String::from(date(at).to_locale_string("default", &options))
}

/// A moment as ISO 8601 in UTC (for `<time datetime>`).
pub fn iso(at: i64) -> String {
    String::from(date(at).to_iso_string())
}

/// Unix seconds now, by the browser's clock.
pub fn now() -> i64 {
    (Date::now() / 1000.0) as i64
}

fn date(at: i64) -> Date {
    Date::new(&JsValue::from_f64(at as f64 * 1000.0))
}
