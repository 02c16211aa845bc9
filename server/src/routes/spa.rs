//! The built SPA as the browser downloads it: the build's brotli or gzip copy when the browser
//! accepts one, hashed files cached for good, everything else never stored.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

#[derive(Clone)]
struct Spa {
    /// Files by name: a missing one is 404, never the page in its place.
    files: ServeDir,
    /// Pages: unknown paths get index.html so client-side routes survive a reload.
    pages: ServeDir<ServeFile>,
}

pub fn service(dir: &Path) -> Router {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let index = ServeFile::new(dir.join("index.html")).precompressed_br().precompressed_gzip();
    let spa = Spa { files: files.clone(), pages: files.fallback(index) };
    Router::new().fallback(serve).with_state(spa)
}

async fn serve(State(spa): State<Spa>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let response = if is_file(&path) {
        spa.files.oneshot(request).await.map(|r| r.map(Body::new))
    } else {
        spa.pages.oneshot(request).await.map(|r| r.map(Body::new))
    };
    let mut response = response.unwrap_or_else(|never| match never {});
    let html = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    // A 304 for a hashed file keeps the year too: a revalidation must not shorten it.
    let fresh = matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED);
    let cache = if fresh && !html && is_hashed(&path) {
        // The name changes with the content: a year, and no revalidation.
        "public, max-age=31536000, immutable"
    } else {
        // index.html, the service worker, pwa.js, the manifest: never a stored copy to
        // revalidate (a date-based revalidation can take a file rewritten within the same
        // second for unchanged), so a deployment is seen at the next load. They are small.
        "no-store"
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// A path naming a file (`/app-1234.js`), not a page of the app (`/`, `/admin/`, `/recover`).
fn is_file(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    last.contains('.') && !last.ends_with(".html")
}

/// Whether the file's own name carries its content's hash (`latchkey-app-a2c7f4290f82b6d3.js`).
/// A hash-like folder does not count: wasm-bindgen names `snippets/latchkey-app-784843cf2cf97224/`
/// after the crate, so the files in it change under the same name.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    name.split('-').skip(1).any(|part| {
        let hash = part.split(['.', '_']).next().unwrap_or("");
        hash.len() >= 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_hashed_names_are_told_from_the_rest() {
        for hashed in [
            "/latchkey-app-a2c7f4290f82b6d3.js",
            "/latchkey-app-a2c7f4290f82b6d3_bg.wasm",
            "/main-e90bfac6ab4980c.css",
            "/admin/latchkey-admin-259201d3a2e7a11a.js",
        ] {
            assert!(is_hashed(hashed), "{hashed}");
        }
        let snippet = "/snippets/latchkey-app-784843cf2cf97224/inline0.js";
        for plain in
            ["/", "/index.html", "/sw.js", "/pwa.js", "/manifest.webmanifest", "/icon-192.png", "/admin/", snippet]
        {
            assert!(!is_hashed(plain), "{plain}");
        }
        assert!(is_file("/sw.js") && is_file("/admin/admin-d4a64bf978008f73.css"));
        assert!(!is_file("/") && !is_file("/admin/") && !is_file("/recover") && !is_file("/index.html"));
    }
}
