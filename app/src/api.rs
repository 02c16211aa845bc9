//! The server's JSON API. Remembers the session's CSRF token and sends it on every
//! state-changing request.

use std::cell::RefCell;

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

use crate::fetch::{Request, Response};

thread_local! {
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub type ApiResult<T> = Result<T, Problem>;

/// The current session, or `None` when signed out.
pub async fn session() -> ApiResult<Option<SessionView>> {
    let response = send(Request::new("GET", "/api/session")).await?;
    if response.status() == 401 {
        return Ok(None);
    }
    let view: SessionView = decode(response).await?;
    remember(&view);
    Ok(Some(view))
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
    send(Request::new("HEAD", "/api/demo/virtual-key")).await.is_ok_and(|r| r.ok())
}

pub async fn sign_out() -> ApiResult<()> {
    let response = send(with_csrf(Request::new("DELETE", "/api/session"))).await?;
    CSRF.with(|c| c.borrow_mut().take());
    nothing(response).await
}

pub async fn password_status() -> ApiResult<PasswordStatus> {
    decode(send(Request::new("GET", "/api/password/status")).await?).await
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
    let f = fields(send(Request::new("GET", "/api/step-up")).await?).await?;
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
    decode(send(Request::new("GET", url)).await?).await
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
    let request = with_csrf(Request::new("POST", url)).text(body);
    decode(send(request).await?).await
}

fn remember(view: &SessionView) {
    CSRF.with(|c| *c.borrow_mut() = Some(view.csrf_token.clone()));
}

fn with_csrf(request: Request) -> Request {
    match CSRF.with(|c| c.borrow().clone()) {
        Some(token) => request.header(CSRF_HEADER, &token),
        None => request,
    }
}

async fn post<B: Serialize>(url: &str, body: &B) -> ApiResult<Response> {
    let json = serde_json::to_string(body).map_err(|_| unreachable_server("unencodable request"))?;
    send(with_csrf(Request::new("POST", url)).json(json)).await
}

async fn send(request: Request) -> ApiResult<Response> {
    request.send().await.map_err(|e| unreachable_server(&e))
}

async fn decode<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    response.json().await.map_err(|_| unreachable_server("unexpected answer"))
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
    send(with_csrf(Request::new("POST", url)).json(json)).await
}

async fn fields(response: Response) -> ApiResult<Fields> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    response.js().await.map(Fields).map_err(|_| unreachable_server("unexpected answer"))
}

async fn error_of(response: Response) -> Problem {
    let status = response.status();
    response.json::<Problem>().await.unwrap_or_else(|_| unreachable_server(&format!("HTTP {status}")))
}

fn unreachable_server(detail: &str) -> Problem {
    Problem::new("internal", format!("Latchkey's server could not be reached ({detail}). Nothing was changed."))
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
