//! The edge's extractors: axum's `Json`, `Query` and `Path`, whose rejections become API errors
//! with a reason (one vocabulary, always JSON) instead of plain text; and the one rule every
//! text sent to the API keeps (`refuse_nul`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use latchkey_api::ErrorKind;

use crate::error::AppError;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        AppError(ErrorKind::BadRequest { reason: rejection.body_text() })
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError(ErrorKind::BadRequest { reason: rejection.body_text() })
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError(ErrorKind::BadRequest { reason: rejection.body_text() })
    }
}

/// Refuses a request whose path, query or body carries U+0000 (percent-encoded, or escaped in
/// JSON): no name, code or password holds one, and PostgreSQL's text cannot store it, so it
/// would fail deep in a flow instead of here with a reason. Bodies are already bounded.
pub async fn refuse_nul(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let refused = || AppError(ErrorKind::BadRequest { reason: "text may not contain U+0000".into() }).into_response();
    if request.uri().to_string().to_ascii_lowercase().contains("%00") {
        return refused();
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => return AppError(ErrorKind::BadRequest { reason: "the body is too large".into() }).into_response(),
    };
    if bytes.contains(&0) || serde_json::from_slice::<serde_json::Value>(&bytes).is_ok_and(|v| holds_nul(&v)) {
        return refused();
    }
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// Whether any key or string in `value` holds U+0000 (as decoded: `"\\u0000"`, a backslash
/// followed by text, does not).
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_decoded_nul_counts() {
        let parsed = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert!(holds_nul(&parsed(r#"{"username":"zo\u0000e"}"#)));
        assert!(holds_nul(&parsed(r#"{"a":[{"zo\u0000e":1}]}"#)), "in a key, nested");
        assert!(!holds_nul(&parsed(r#"{"password":"back\\u0000slash"}"#)), "an escaped backslash, then text");
        assert!(!holds_nul(&parsed(r#"{"username":"Zoë Ärger"}"#)));
    }
}
