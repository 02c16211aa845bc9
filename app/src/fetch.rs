//! The few bits of `fetch` the API client needs: same-origin requests with JSON bodies.

use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub struct Request {
    init: web_sys::RequestInit,
    headers: Vec<(&'static str, String)>,
    url: String,
}

impl Request {
    pub fn new(method: &str, url: &str) -> Request {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        Request { init, headers: Vec::new(), url: url.to_string() }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Request {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn json(self, body: String) -> Request {
        self.init.set_body(&body.into());
        self.header("content-type", "application/json")
    }

    pub fn text(self, body: String) -> Request {
        self.init.set_body(&body.into());
        self.header("content-type", "text/plain; charset=utf-8")
    }

    pub async fn send(self) -> Result<Response, String> {
        let window = web_sys::window().ok_or("no window")?;
        let headers = web_sys::Headers::new().map_err(|_| "no headers")?;
        for (name, value) in &self.headers {
            headers.set(name, value).map_err(|_| "bad header")?;
        }
        self.init.set_headers(&headers);
        let promise = window.fetch_with_str_and_init(&self.url, &self.init);
        let response = JsFuture::from(promise).await.map_err(|_| "the network request failed".to_string())?;
        response.dyn_into().map(Response).map_err(|_| "not a response".into())
    }
}

pub struct Response(web_sys::Response);

impl Response {
    pub fn status(&self) -> u16 {
        self.0.status()
    }

    pub fn ok(&self) -> bool {
        self.0.ok()
    }

    /// The body as the browser's JSON parser reads it: no serde decoder in the bundle for it.
    pub async fn js(&self) -> Result<JsValue, String> {
        let promise = self.0.json().map_err(|_| "unreadable body".to_string())?;
        JsFuture::from(promise).await.map_err(|_| "unexpected body".into())
    }

    pub async fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        let promise = self.0.text().map_err(|_| "unreadable body".to_string())?;
        let text = JsFuture::from(promise).await.map_err(|_| "unreadable body".to_string())?;
        serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|_| "unexpected body".into())
    }
}
