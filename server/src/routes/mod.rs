//! The HTTP surface: `/api/*` (JSON), `/healthz`, `/readyz`, and the SPA for everything else.

mod admin;
mod csp;
mod demo;
mod extract;
mod health;
mod key_relay;
mod openapi;
pub(crate) mod origin;
mod password;
mod recovery;
mod session;
mod spa;
mod step_up;

pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use openapi::document as api_document;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use latchkey_api::ErrorKind;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::state::AppState;

/// Request bodies are small JSON documents.
const MAX_BODY: usize = 16 * 1024;

/// The whole application; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let api = api
        .fallback(|| async { AppError(ErrorKind::NotFound) })
        .layer(middleware::from_fn(extract::refuse_nul))
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

/// Every route the document covers: the API under `/api` and the health checks beside it.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().nest("/api", api_routes()).routes(routes!(health::live)).routes(routes!(health::ready))
}

/// Every API route, each with its contract (`routes/openapi.rs`): the router is built from the
/// handlers' annotations, so no route can go undocumented.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session::current, session::sign_in, session::sign_out))
        .routes(routes!(password::status))
        .routes(routes!(password::check))
        .routes(routes!(password::change))
        .routes(routes!(step_up::status))
        .routes(routes!(step_up::confirm_with_code))
        .routes(routes!(step_up::enrol))
        .routes(routes!(step_up::confirm_enrolment))
        .routes(routes!(recovery::options))
        .routes(routes!(recovery::start))
        .routes(routes!(recovery::complete))
        .routes(routes!(recovery::own_keys))
        .routes(routes!(recovery::report_key))
        .routes(routes!(key_relay::relay))
        .routes(routes!(session::sign_in_with_key))
        .routes(routes!(session::bootstrap))
        .routes(routes!(admin::employees::local_flags))
        .routes(routes!(demo::virtual_key))
        .routes(routes!(admin::totp::enrol))
        .routes(routes!(admin::totp::confirm))
        .routes(routes!(admin::totp::verify))
        .routes(routes!(admin::reset::reset))
        .routes(routes!(admin::user_totp::reset))
        .routes(routes!(admin::mail::overview))
        .routes(routes!(admin::mail::run_reminders))
        .routes(routes!(admin::employees::list))
        .routes(routes!(admin::employees::sync))
        .routes(routes!(admin::employees::detail))
        .routes(routes!(admin::employees::add_account))
        .routes(routes!(admin::employees::flags))
        .routes(routes!(admin::employees::unlock))
        .routes(routes!(admin::keys::list, admin::keys::register))
        .routes(routes!(admin::keys::manifest))
        .routes(routes!(admin::keys::assign))
        .routes(routes!(admin::keys::status))
        .routes(routes!(admin::dashboard::dashboard))
        .routes(routes!(admin::directory_check::check))
        .routes(routes!(admin::audit_log::search))
        .routes(routes!(admin::audit_log::verify))
        .routes(routes!(openapi::serve))
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
