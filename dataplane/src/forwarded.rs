//! The `X-Forwarded-*` headers a backend receives: who the client was, and the scheme, host
//! and port it used to reach the gateway.
//!
//! `X-Forwarded-For` always gets the client's address appended (the connection's peer, or
//! the address a PROXY protocol header named), so the entry a backend should believe is the
//! last one, or the last one before the trusted proxies in front of the data plane.
//! `X-Forwarded-Proto`, `-Host` and `-Port` describe the listener the request came in on and
//! replace whatever the client sent, unless `--trusted-hops` says proxies in front of the data
//! plane set them; then values already present are kept.

use std::net::IpAddr;

use http::HeaderValue;
use http::header::HeaderName;
use pingora_http::RequestHeader;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// What the data plane knows about how a request reached it.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The client's address, if known.
    pub client: Option<IpAddr>,
    /// `http` or `https`, by the listener.
    pub scheme: &'static str,
    /// The `Host` the client sent (or the URI's authority).
    pub host: Option<HeaderValue>,
    /// The listener's port.
    pub port: u16,
}

/// Set the forwarding headers of `request` for a request that arrived as `arrival`;
/// `trusted_hops` is how many proxies in front of the data plane are trusted.
pub fn set_forwarding_headers(request: &mut RequestHeader, arrival: &Arrival, trusted_hops: u8) {
    if let Some(client) = arrival.client {
        let appended = match joined(request, &X_FORWARDED_FOR) {
            Some(previous) => format!("{previous}, {client}"),
            None => client.to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&appended) {
            let _ = request.insert_header(X_FORWARDED_FOR, value);
        }
    }
    let describe = |request: &mut RequestHeader, name: HeaderName, value: Option<HeaderValue>| {
        if trusted_hops > 0 && request.headers.contains_key(&name) {
            return;
        }
        match value {
            Some(value) => {
                let _ = request.insert_header(name, value);
            }
            None => {
                request.remove_header(&name);
            }
        }
    };
    describe(
        request,
        X_FORWARDED_PROTO,
        Some(HeaderValue::from_static(arrival.scheme)),
    );
    describe(request, X_FORWARDED_HOST, arrival.host.clone());
    describe(
        request,
        X_FORWARDED_PORT,
        Some(HeaderValue::from(arrival.port)),
    );
}

/// Every value of `name`, joined with `, ` as one field (RFC 9110 §5.3).
fn joined(request: &RequestHeader, name: &HeaderName) -> Option<String> {
    let values: Vec<&str> = request
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&'static str, &'static str)]) -> RequestHeader {
        let mut request = RequestHeader::build("GET", b"/", None).expect("request");
        for (name, value) in headers {
            request.append_header(*name, *value).expect("header");
        }
        request
    }

    fn arrival() -> Arrival {
        Arrival {
            client: Some([192, 0, 2, 7].into()),
            scheme: "https",
            host: Some(HeaderValue::from_static("shop.example.com")),
            port: 8443,
        }
    }

    fn header(request: &RequestHeader, name: &str) -> Vec<String> {
        request
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn the_client_is_appended_and_the_listener_described() {
        let mut forged = request(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "7.7.7.7"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "evil.example"),
        ]);
        set_forwarding_headers(&mut forged, &arrival(), 0);
        assert_eq!(
            header(&forged, "x-forwarded-for"),
            ["6.6.6.6, 7.7.7.7, 192.0.2.7"]
        );
        assert_eq!(header(&forged, "x-forwarded-proto"), ["https"]);
        assert_eq!(header(&forged, "x-forwarded-host"), ["shop.example.com"]);
        assert_eq!(header(&forged, "x-forwarded-port"), ["8443"]);
    }

    #[test]
    fn trusted_proxies_keep_what_they_set() {
        let mut relayed = request(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
        ]);
        let plain = Arrival {
            scheme: "http",
            port: 8080,
            ..arrival()
        };
        set_forwarding_headers(&mut relayed, &plain, 1);
        assert_eq!(
            header(&relayed, "x-forwarded-for"),
            ["203.0.113.9, 192.0.2.7"]
        );
        assert_eq!(header(&relayed, "x-forwarded-proto"), ["https"]);
        assert_eq!(header(&relayed, "x-forwarded-port"), ["443"]);
        assert_eq!(header(&relayed, "x-forwarded-host"), ["shop.example.com"]);
    }
}
