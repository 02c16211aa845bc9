//! The router driven in-process with `oneshot`: behaviour that needs no directory.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use latchkey_server::{router, AppState, Config};
use serde_json::Value;
use tower::ServiceExt;

async fn app() -> (Router, tempfile::TempDir) {
    app_at(None).await
}

/// The router with `public_url` set (HTTPS in production).
async fn app_at(public_url: Option<&str>) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let loader = "<script type=\"module\">import init from '/a.js'; init();</script>";
    std::fs::write(dir.path().join("index.html"), format!("<!doctype html><title>spa</title>{loader}")).unwrap();
    let config = Config {
        spa_dir: dir.path().to_path_buf(),
        database_url: format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        secret_key_file: dir.path().join("secret.key"),
        public_url: public_url.map(String::from),
        ..Config::default()
    };
    (router(AppState::new(config).await.unwrap()), dir)
}

async fn json(response: axum::response::Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn liveness_answers_without_a_directory() {
    let (app, _dir) = app().await;
    let response = app.oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readiness_names_what_is_missing() {
    let (app, _dir) = app().await;
    let response = app.oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(response).await;
    assert_eq!(body["database"], "ok");
    assert_eq!(body["directory"], "not configured");
}

#[tokio::test]
async fn session_without_cookie_is_401_json() {
    let (app, _dir) = app().await;
    let response = app.oneshot(Request::get("/api/session").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(json(response).await["code"], "unauthenticated");
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_any_handler() {
    let (app, _dir) = app().await;
    let request = Request::post("/api/session")
        .header(header::CONTENT_TYPE, "application/json")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(r#"{"username":"a","password":"b"}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(response).await["code"], "csrf_rejected");
}

#[tokio::test]
async fn malformed_json_is_a_clear_400() {
    let (app, _dir) = app().await;
    let request = Request::post("/api/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"username":"a"}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["code"], "bad_request");
    assert!(body["message"].as_str().unwrap().contains("password"), "{body}");
}

#[tokio::test]
async fn sign_in_without_a_directory_is_503() {
    let (app, _dir) = app().await;
    let request = Request::post("/api/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"username":"a","password":"b"}"#))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(response).await["code"], "directory_unavailable");
}

#[tokio::test]
async fn client_routes_get_the_spa_with_protective_headers() {
    let (app, _dir) = app().await;
    let response = app.oneshot(Request::get("/password").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert!(response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("frame-ancestors 'none'"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("<title>spa</title>"));
}

#[tokio::test]
async fn unknown_api_paths_are_json_errors() {
    let (app, _dir) = app().await;
    let response = app.oneshot(Request::get("/api/nope").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(response).await["code"], "not_found");
}

#[tokio::test]
async fn over_https_browsers_are_told_to_stay_on_https_and_scripts_need_their_hash() {
    let (secure, _dir) = app_at(Some("https://password.example.com")).await;
    let response = secure.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000; includeSubDomains");
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(!scripts.contains("unsafe-inline") && scripts.contains("'sha256-"), "{csp}");
    // Positive control: plain HTTP (a lab, the demo) sends no HSTS.
    let (plain, _plain_dir) = app().await;
    let response = plain.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    assert!(response.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn the_origin_is_checked_against_the_public_url_not_the_host_header() {
    let post = |origin: &str, host: &str| {
        Request::post("/api/session")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, origin)
            .header(header::HOST, host)
            .body(Body::from(r#"{"username":"a","password":"b"}"#))
            .unwrap()
    };
    let (app, _dir) = app_at(Some("https://password.example.com")).await;
    let forged = app.clone().oneshot(post("https://evil.example", "evil.example")).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(forged).await["code"], "csrf_rejected");
    let own = app.oneshot(post("https://password.example.com", "10.0.0.5:8080")).await.unwrap();
    assert_eq!(json(own).await["code"], "directory_unavailable", "the portal's own page gets through");
}

#[tokio::test]
async fn a_server_with_another_secret_file_refuses_to_start_on_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = |secret: &str| Config {
        spa_dir: dir.path().to_path_buf(),
        database_url: format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        secret_key_file: dir.path().join(secret),
        ..Config::default()
    };
    AppState::new(config("one.key")).await.expect("the first start sets it up");
    AppState::new(config("one.key")).await.expect("the same secret starts again");
    let refused = AppState::new(config("other.key")).await.err().expect("another secret is refused").to_string();
    assert!(refused.contains("secret_key_file"), "{refused}");
}
