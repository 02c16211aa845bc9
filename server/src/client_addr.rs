//! The client's address, as rate limits and the audit log see it. Behind a TLS proxy every
//! connection comes from the proxy: only from a configured `trusted_proxies` peer is the one
//! forwarding header the proxies write (`forwarded_header`) read, and then the right-most
//! address that is not itself a trusted proxy is the client (the left part of the list is
//! whatever the client chose to send). The other header is ignored: a proxy that appends to one
//! passes the client's own copy of the other through.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::config::ForwardedHeader;
use crate::state::AppState;

/// The client's address, when the connection is known (not in router unit tests).
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let header = state.config.forwarded_header;
        Ok(ClientAddr(peer.map(|peer| client_address(peer, &parts.headers, &state.trusted_proxies, header))))
    }
}

impl ClientAddr {
    pub fn label(&self) -> Option<String> {
        self.0.map(|a| a.to_string())
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet], header: ForwardedHeader) -> IpAddr {
    // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
    let peer = peer.to_canonical();
    let is_trusted = |a: &IpAddr| trusted.iter().any(|net| net.contains(&a.to_canonical()));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for(headers, header);
    // Right to left: each hop was added by the proxy in front of it; stop at the first one
    // no trusted proxy vouches for.
    for hop in hops.iter().rev() {
        match hop {
            Some(addr) if is_trusted(addr) => continue,
            Some(addr) => return *addr,
            // Unreadable (or obfuscated) hop: nothing further left can be trusted.
            None => return peer,
        }
    }
    hops.first().copied().flatten().unwrap_or(peer)
}

/// The hops of the configured header, in order: `Forwarded` (RFC 7239 `for=`) or
/// `X-Forwarded-For`.
fn forwarded_for(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    };
    if header == ForwardedHeader::Forwarded {
        return values("forwarded")
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_node(v))
                    .map(|a| a.to_canonical())
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|n| parse_node(n).map(|a| a.to_canonical()))
        .collect()
}

/// `192.0.2.1`, `"[2001:db8::1]:4711"`, `192.0.2.1:80`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Ok(a) = t.parse::<IpAddr>() {
        return Some(a);
    }
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    t.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_trusted;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_are_read_only_from_trusted_proxies() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "192.0.2.7".into()]).unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.9")]);
        assert_eq!(client_address(ip("203.0.113.5"), &h, &trusted, XFF), ip("203.0.113.5"), "untrusted peer");
        assert_eq!(client_address(ip("10.1.2.3"), &h, &trusted, XFF), ip("198.51.100.9"), "trusted proxy");
        assert_eq!(client_address(ip("10.1.2.3"), &h, &[], XFF), ip("10.1.2.3"), "nothing trusted");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = parse_trusted(&["10.0.0.0/8".into()]).unwrap();
        // The client claims to be 1.1.1.1; the outer proxy saw 198.51.100.9; an inner one 10.0.0.2.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.9"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(client_address(ip("10.0.0.3"), &h, &trusted, XFF), ip("198.51.100.9"));
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.2")]);
        assert_eq!(client_address(ip("10.0.0.3"), &all_trusted, &trusted, XFF), ip("10.0.0.9"));
        let garbage = headers(&[("x-forwarded-for", "1.1.1.1, not-an-ip")]);
        assert_eq!(client_address(ip("10.0.0.3"), &garbage, &trusted, XFF), ip("10.0.0.3"));
        assert_eq!(client_address(ip("10.0.0.3"), &HeaderMap::new(), &trusted, XFF), ip("10.0.0.3"));
    }

    #[test]
    fn only_the_configured_header_is_read_and_its_forms_are_understood() {
        let trusted = parse_trusted(&["10.0.0.0/8".into()]).unwrap();
        let h = headers(&[
            ("forwarded", "for=1.1.1.1, for=\"[2001:db8::1]:4711\";proto=https"),
            ("x-forwarded-for", "198.51.100.9"),
        ]);
        assert_eq!(client_address(ip("10.0.0.3"), &h, &trusted, FWD), ip("2001:db8::1"));
        assert_eq!(
            client_address(ip("10.0.0.3"), &h, &trusted, XFF),
            ip("198.51.100.9"),
            "the client's Forwarded ignored"
        );
        let with_port = headers(&[("forwarded", "for=192.0.2.60:8080;by=10.0.0.1")]);
        assert_eq!(client_address(ip("10.0.0.3"), &with_port, &trusted, FWD), ip("192.0.2.60"));
        let mapped = headers(&[("x-forwarded-for", "198.51.100.9")]);
        assert_eq!(client_address(ip("::ffff:10.0.0.3"), &mapped, &trusted, XFF), ip("198.51.100.9"), "v4-mapped peer");
        assert!(parse_trusted(&["nonsense".into()]).is_err());
    }
}
