//! The HTTP surface: `/api/*` (JSON), `/healthz`, `/readyz`, and the SPA for everything else.

mod admin;
mod csp;
mod demo;
mod health;
mod json;
mod key_relay;
pub(crate) mod origin;
mod password;
mod recovery;
mod session;
mod spa;
mod step_up;

pub use json::ApiJson;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use latchkey_api::ErrorKind;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

/// Request bodies are small JSON documents.
const MAX_BODY: usize = 16 * 1024;

/// The whole application; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/session", get(session::current).post(session::sign_in).delete(session::sign_out))
        .route("/password/status", get(password::status))
        .route("/password/check", post(password::check))
        .route("/password/change", post(password::change))
        .route("/step-up", get(step_up::status))
        .route("/step-up/totp", post(step_up::confirm_with_code))
        .route("/totp/enrol", post(step_up::enrol))
        .route("/totp/confirm", post(step_up::confirm_enrolment))
        .route("/recovery", get(recovery::options))
        .route("/recovery/start", post(recovery::start))
        .route("/recovery/complete", post(recovery::complete))
        .route("/keys", get(recovery::own_keys))
        .route("/keys/{serial}/report", post(recovery::report_key))
        .route("/key/relay", get(key_relay::relay))
        .route("/session/key", post(session::sign_in_with_key))
        .route("/bootstrap", post(session::bootstrap))
        .route("/admin/local/{username}/flags", post(admin::employees::local_flags))
        .route("/demo/virtual-key", get(demo::virtual_key))
        .route("/admin/totp/enrol", post(admin::totp::enrol))
        .route("/admin/totp/confirm", post(admin::totp::confirm))
        .route("/admin/totp/verify", post(admin::totp::verify))
        .route("/admin/employees/{username}/reset", post(admin::reset::reset))
        .route("/admin/employees/{username}/totp/reset", post(admin::user_totp::reset))
        .route("/admin/mail", get(admin::mail::overview))
        .route("/admin/mail/reminders", post(admin::mail::run_reminders))
        .route("/admin/employees", get(admin::employees::list))
        .route("/admin/employees/sync", post(admin::employees::sync))
        .route("/admin/employees/{username}", get(admin::employees::detail))
        .route("/admin/employees/{username}/accounts", post(admin::employees::add_account))
        .route("/admin/employees/{username}/flags", post(admin::employees::flags))
        .route("/admin/employees/{username}/unlock", post(admin::employees::unlock))
        .route("/admin/keys", get(admin::keys::list).post(admin::keys::register))
        .route("/admin/keys/manifest", post(admin::keys::manifest))
        .route("/admin/keys/{serial}/assign", post(admin::keys::assign))
        .route("/admin/keys/{serial}/status", post(admin::keys::status))
        .route("/admin/dashboard", get(admin::dashboard::dashboard))
        .route("/admin/directory-check", get(admin::directory_check::check))
        .route("/admin/audit", get(admin::audit_log::search))
        .route("/admin/audit/verify", get(admin::audit_log::verify))
        .fallback(|| async { AppError(ErrorKind::NotFound) })
        .layer(middleware::from_fn_with_state(state.clone(), refuse_cross_site))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));

    let csp = HeaderValue::from_str(&csp::policy(&state.config.spa_dir))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    // Browsers that once reached the portal over HTTPS never try it in the clear again.
    let hsts = state.config.secure_cookies().then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    Router::new()
        .nest("/api", api)
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .fallback_service(spa::service(&state.config.spa_dir))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
        .layer(tower::util::option_layer(hsts))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Browsers label requests another site makes, and name their origin; refuse state changes
/// from anywhere but the portal's own pages before any handler runs.
async fn refuse_cross_site(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let state_changing = request.method() != Method::GET && request.method() != Method::HEAD;
    let cross_site = request.headers().get("sec-fetch-site").is_some_and(|v| v == "cross-site")
        || !origin::same_origin(request.headers(), state.config.public_url.as_deref());
    if state_changing && cross_site {
        return AppError(ErrorKind::CsrfRejected).into_response();
    }
    next.run(request).await
}
