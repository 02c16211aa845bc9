//! Which origin the portal is served from, and whether a request's `Origin` is it. With
//! `public_url` set, the origin is compared (scheme, host and port) against it; the `Host`
//! header, which a client chooses, decides only when no public URL is configured.

use axum::http::{header, HeaderMap};

/// `scheme://host[:port]` of a URL, lower-cased, the default port dropped.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("https", Some((host, "443"))) | ("http", Some((host, "80"))) => host.to_string(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

/// Whether a request that carries `Origin` comes from the portal's own pages. Requests without
/// `Origin` (not from a browser's cross-origin context) are judged by the session's CSRF token.
pub fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    let Some(origin) = origin_of(origin) else { return false };
    match public_url.and_then(origin_of) {
        Some(expected) => origin == expected,
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
            host.is_some_and(|h| origin.split_once("://").map(|(_, a)| a) == Some(h.as_str()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().unwrap());
        h.insert(header::HOST, host.parse().unwrap());
        h
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(origin_of("https://Password.Example.com/").as_deref(), Some("https://password.example.com"));
        assert_eq!(origin_of("https://a.example:443").as_deref(), Some("https://a.example"));
        assert_eq!(origin_of("http://a.example:8080/x").as_deref(), Some("http://a.example:8080"));
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("https://user@evil.example"), None);
    }

    #[test]
    fn the_public_url_decides_not_the_host_header() {
        let public = Some("https://password.example.com");
        assert!(same_origin(&headers("https://password.example.com", "evil.example"), public));
        assert!(!same_origin(&headers("https://evil.example", "evil.example"), public), "a forged Host");
        assert!(!same_origin(&headers("http://password.example.com", "password.example.com"), public), "scheme");
        assert!(!same_origin(&headers("https://password.example.com:8443", "x"), public), "port");
        assert!(same_origin(&headers("http://127.0.0.1:8080", "127.0.0.1:8080"), None), "no public URL: Host");
        assert!(!same_origin(&headers("http://evil.example", "127.0.0.1:8080"), None));
        assert!(same_origin(&HeaderMap::new(), public), "no Origin: the CSRF token decides");
    }
}
