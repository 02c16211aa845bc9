use wasm_bindgen::JsValue;

/// A moment (Unix seconds) in the user's locale, date and time.
pub fn local_datetime(at: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at as f64 * 1000.0));
    String::from(date.to_locale_string("default", &JsValue::UNDEFINED))
}
