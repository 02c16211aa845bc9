//! The server's JSON API, over gloo-net's `fetch`: the only place that knows URLs. Remembers
//! the session's CSRF token and sends it on every state-changing request. A request that never
//! reached the server (a network error) is told apart from the server's own refusals.

use std::cell::RefCell;

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use js_sys::{Array, Reflect};
use latchkey_api::step_up::{SecondFactorMode, StepUpGranted, StepUpStatus, UserTotpConfirmed};
use latchkey_api::TotpEnrolment;
use latchkey_api::{
    ChangePasswordRequest, ChangePasswordResponse, CheckPasswordRequest, CheckPasswordResponse, KeySignInRequest,
    Password, PasswordStatus, Problem, SessionView, SignInRequest, CSRF_HEADER,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RequestCredentials;

thread_local! {
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub type ApiResult<T> = Result<T, Problem>;

/// The code of a request that never reached the server: the browser's network error (offline,
/// off the VPN, the server down). Never a code of the server's own.
pub const OFFLINE: &str = "offline";

/// The current session, or `None` when signed out. The first time, the answer to the request
/// the page made as it loaded (`index.html`), so the sign-in form need not wait for a round
/// trip after the app has started.
pub async fn session() -> ApiResult<Option<SessionView>> {
    let response = match asked_by_the_page().await {
        Some(answer) => answer?,
        None => send(request(Method::GET, "/api/session").build()).await?,
    };
    if response.status() == 401 {
        return Ok(None);
    }
    let view: SessionView = decode(response).await?;
    remember(&view);
    Ok(Some(view))
}

/// Whether the page's own request for the session has already come back signed out
/// (`index.html` notes it in `window.latchkeySignedOut` as it arrives): the app's first render
/// can then be the sign-in form, not a "Loading…" that a later task replaces. Takes that answer.
pub fn signed_out_already() -> bool {
    let Some(window) = web_sys::window() else { return false };
    let said = Reflect::get(&window, &JsValue::from_str("latchkeySignedOut")).ok().and_then(|v| v.as_bool());
    if said != Some(true) {
        return false;
    }
    for key in ["latchkeySession", "latchkeySignedOut"] {
        let _ = Reflect::delete_property(&window, &JsValue::from_str(key));
    }
    crate::network::heard(true);
    true
}

/// The page's own request for the session (`window.latchkeySession`: a promise of the
/// response, or of `null` when it never reached the server), taken once; `None` when there is
/// none left to take.
async fn asked_by_the_page() -> Option<ApiResult<Response>> {
    let window = web_sys::window()?;
    let key = JsValue::from_str("latchkeySession");
    let promise = Reflect::get(&window, &key).ok()?.dyn_into::<js_sys::Promise>().ok()?;
    let _ = Reflect::delete_property(&window, &key);
    let answer = JsFuture::from(promise).await.ok()?.dyn_into::<web_sys::Response>().ok();
    crate::network::heard(answer.is_some());
    Some(answer.map(Response::from).ok_or_else(unreachable_server))
}

pub async fn sign_in(username: String, password: String) -> ApiResult<SessionView> {
    let body = SignInRequest { username, password: Password::new(password) };
    let view: SessionView = decode(post("/api/session", &body).await?).await?;
    remember(&view);
    Ok(view)
}

/// Redeems the ticket a sign-in with the key gave for a session.
pub async fn sign_in_with_key(ticket: String) -> ApiResult<SessionView> {
    let view: SessionView = decode(post("/api/session/key", &KeySignInRequest { ticket }).await?).await?;
    remember(&view);
    Ok(view)
}

/// DEMO ONLY: whether the server offers a virtual key.
pub async fn virtual_key_offered() -> bool {
    send(request(Method::HEAD, "/api/demo/virtual-key").build()).await.is_ok_and(|r| r.ok())
}

pub async fn sign_out() -> ApiResult<()> {
    let response = send(request(Method::DELETE, "/api/session").build()).await?;
    CSRF.with(|c| c.borrow_mut().take());
    nothing(response).await
}

pub async fn password_status() -> ApiResult<PasswordStatus> {
    get("/api/password/status").await
}

pub async fn check(candidate: String) -> ApiResult<CheckPasswordResponse> {
    decode(post("/api/password/check", &CheckPasswordRequest { candidate: Password::new(candidate) }).await?).await
}

pub async fn change(current: String, new: String) -> ApiResult<ChangePasswordResponse> {
    let body = ChangePasswordRequest { current: Password::new(current), new: Password::new(new) };
    decode(post("/api/password/change", &body).await?).await
}

/// What a change asks of the user before it is written (step-up).
pub async fn step_up_status() -> ApiResult<StepUpStatus> {
    let f = fields(send(request(Method::GET, "/api/step-up").build()).await?).await?;
    let mode = match f.text("mode").as_str() {
        "totp" => SecondFactorMode::Totp,
        "key_or_totp" => SecondFactorMode::KeyOrTotp,
        _ => SecondFactorMode::Off,
    };
    Ok(StepUpStatus {
        mode,
        totp_enrolled: f.flag("totp_enrolled"),
        key_confirms: f.flag("key_confirms"),
        confirmed_until: f.time("confirmed_until"),
        may_enrol: f.flag("may_enrol"),
        help_contact: f.text("help_contact"),
    })
}

/// Confirms it is the user with a code from their authenticator app (or a recovery code).
pub async fn step_up_totp(code: String) -> ApiResult<StepUpGranted> {
    let f = fields(post_raw("/api/step-up/totp", code_body(&code)).await?).await?;
    Ok(StepUpGranted { confirmed_until: f.time("confirmed_until").unwrap_or_default() })
}

/// Starts enrolling an authenticator app: its secret, shown once.
pub async fn totp_enrol() -> ApiResult<TotpEnrolment> {
    let f = fields(post_raw("/api/totp/enrol", "{}".into()).await?).await?;
    Ok(TotpEnrolment {
        secret_base32: f.text("secret_base32"),
        otpauth_url: f.text("otpauth_url"),
        qr_svg: f.text("qr_svg"),
    })
}

/// Finishes the enrolment with the app's first code: the recovery codes, shown once.
pub async fn totp_confirm(code: String) -> ApiResult<UserTotpConfirmed> {
    let f = fields(post_raw("/api/totp/confirm", code_body(&code)).await?).await?;
    Ok(UserTotpConfirmed {
        recovery_codes: f.texts("recovery_codes"),
        confirmed_until: f.time("confirmed_until").unwrap_or_default(),
    })
}

/// The body of a POST that carries nothing: `{}` (`()` would encode as `null`).
#[derive(Serialize)]
pub struct Empty {}

/// A GET of JSON (the administration pages use these too).
pub async fn get<T: DeserializeOwned>(url: &str) -> ApiResult<T> {
    decode(send(request(Method::GET, url).build()).await?).await
}

/// A POST of JSON, answered with JSON.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> ApiResult<T> {
    decode(post(url, body).await?).await
}

/// A POST of JSON, answered with nothing.
pub async fn post_unit<B: Serialize>(url: &str, body: &B) -> ApiResult<()> {
    nothing(post(url, body).await?).await
}

/// A POST of plain text (a CSV manifest), answered with JSON.
pub async fn post_text<T: DeserializeOwned>(url: &str, body: String) -> ApiResult<T> {
    let request = request(Method::POST, url).header("content-type", "text/plain; charset=utf-8").body(body);
    decode(send(request).await?).await
}

fn remember(view: &SessionView) {
    CSRF.with(|c| *c.borrow_mut() = Some(view.csrf_token.clone()));
}

/// A same-origin request (the session's cookie goes with it); a state-changing one carries the
/// CSRF token once a session gave one.
fn request(method: Method, url: &str) -> RequestBuilder {
    let safe = method == Method::GET || method == Method::HEAD;
    let builder = RequestBuilder::new(url).method(method).credentials(RequestCredentials::SameOrigin);
    match CSRF.with(|c| c.borrow().clone()) {
        Some(token) if !safe => builder.header(CSRF_HEADER, &token),
        _ => builder,
    }
}

async fn post<B: Serialize>(url: &str, body: &B) -> ApiResult<Response> {
    send(request(Method::POST, url).json(body)).await
}

/// Sends a built request. A request that cannot be built never leaves the page; one that
/// fails as a network error never reached the server (offline, no VPN, the server down).
async fn send(request: Result<Request, gloo_net::Error>) -> ApiResult<Response> {
    let request =
        request.map_err(|_| Problem::new("internal", "Latchkey could not make this request. Nothing was changed."))?;
    let answer = request.send().await;
    crate::network::heard(answer.is_ok());
    answer.map_err(|_| unreachable_server())
}

async fn decode<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    response.json().await.map_err(|_| unexpected(response.status()))
}

/// An answer with no body: success, or the error it carries.
async fn nothing(response: Response) -> ApiResult<()> {
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

/// An answer read through the browser's JSON parser. The step-up's answers are read this way:
/// a serde decoder for each would weigh more on the first load than the pages that use them.
struct Fields(JsValue);

impl Fields {
    fn get(&self, name: &str) -> JsValue {
        Reflect::get(&self.0, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    }

    fn flag(&self, name: &str) -> bool {
        !self.get(name).is_falsy()
    }

    fn text(&self, name: &str) -> String {
        self.get(name).as_string().unwrap_or_default()
    }

    /// Unix seconds (exact as a JSON number up to 2^53).
    fn time(&self, name: &str) -> Option<i64> {
        self.get(name).as_f64().map(|t| t as i64)
    }

    fn texts(&self, name: &str) -> Vec<String> {
        let mut texts = Vec::new();
        let list = self.get(name);
        // Missing: no length, no items.
        if !list.is_undefined() && !list.is_null() {
            let list = list.unchecked_into::<Array>();
            for i in 0..list.length() {
                if let Some(text) = list.get(i).as_string() {
                    texts.push(text);
                }
            }
        }
        texts
    }
}

/// A `TotpCode` as JSON (like `Fields`: no serde code for the struct).
fn code_body(code: &str) -> String {
    let code = serde_json::to_string(code).unwrap_or_default();
    format!(r#"{{"code":{code}}}"#)
}

async fn post_raw(url: &str, json: String) -> ApiResult<Response> {
    send(request(Method::POST, url).header("content-type", "application/json").body(json)).await
}

/// The body as the browser's JSON parser reads it: no serde decoder in the bundle for it.
async fn fields(response: Response) -> ApiResult<Fields> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    let status = response.status();
    let raw = web_sys::Response::from(response);
    let promise = raw.json().map_err(|_| unexpected(status))?;
    JsFuture::from(promise).await.map(Fields).map_err(|_| unexpected(status))
}

async fn error_of(response: Response) -> Problem {
    let status = response.status();
    response.json::<Problem>().await.unwrap_or_else(|_| unexpected(status))
}

/// What a request that never reached the server says (see `OFFLINE`).
fn unreachable_server() -> Problem {
    Problem::new(
        OFFLINE,
        "Latchkey's server cannot be reached: you may be offline (it needs the company network or VPN). \
         Nothing was changed.",
    )
}

/// An answer that is not the API's (a proxy's error page, say).
fn unexpected(status: u16) -> Problem {
    Problem::new(
        "internal",
        format!("Latchkey's server gave an unexpected answer (HTTP {status}). Nothing was changed."),
    )
}

/// Percent-encodes a path segment or a query value (UTF-8, unreserved characters kept), for the
/// bundles that build URLs with user input (administration, recovery).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
