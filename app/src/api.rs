//! The server's JSON API. Remembers the session's CSRF token and sends it on every
//! state-changing request.

use std::cell::RefCell;

use gloo_net::http::{Request, RequestBuilder, Response};
use latchkey_api::{
    ApiError, ChangePasswordRequest, ChangePasswordResponse, CheckPasswordRequest, CheckPasswordResponse, ErrorKind,
    Password, PasswordStatus, SessionView, SignInRequest, CSRF_HEADER,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

thread_local! {
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The current session, or `None` when signed out.
pub async fn session() -> ApiResult<Option<SessionView>> {
    let response = send(Request::get("/api/session")).await?;
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

pub async fn sign_out() -> ApiResult<()> {
    let response = send(with_csrf(Request::delete("/api/session"))).await?;
    CSRF.with(|c| c.borrow_mut().take());
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

pub async fn password_status() -> ApiResult<PasswordStatus> {
    decode(send(Request::get("/api/password/status")).await?).await
}

pub async fn check(candidate: String) -> ApiResult<CheckPasswordResponse> {
    decode(post("/api/password/check", &CheckPasswordRequest { candidate: Password::new(candidate) }).await?).await
}

pub async fn change(current: String, new: String) -> ApiResult<ChangePasswordResponse> {
    let body = ChangePasswordRequest { current: Password::new(current), new: Password::new(new) };
    decode(post("/api/password/change", &body).await?).await
}

fn remember(view: &SessionView) {
    CSRF.with(|c| *c.borrow_mut() = Some(view.csrf_token.clone()));
}

fn with_csrf(builder: RequestBuilder) -> RequestBuilder {
    match CSRF.with(|c| c.borrow().clone()) {
        Some(token) => builder.header(CSRF_HEADER, &token),
        None => builder,
    }
}

async fn post<B: Serialize>(url: &str, body: &B) -> ApiResult<Response> {
    let request = with_csrf(Request::post(url)).json(body).map_err(|e| unreachable_server(&e.to_string()))?;
    request.send().await.map_err(|e| unreachable_server(&e.to_string()))
}

async fn send(builder: RequestBuilder) -> ApiResult<Response> {
    builder.send().await.map_err(|e| unreachable_server(&e.to_string()))
}

async fn decode<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    if !response.ok() {
        return Err(error_of(response).await);
    }
    response.json().await.map_err(|e| unreachable_server(&format!("unexpected answer: {e}")))
}

async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    response.json::<ApiError>().await.unwrap_or_else(|_| unreachable_server(&format!("HTTP {status}")))
}

fn unreachable_server(detail: &str) -> ApiError {
    ApiError {
        kind: ErrorKind::Internal,
        message: format!("Latchkey's server could not be reached ({detail}). Nothing was changed."),
    }
}
