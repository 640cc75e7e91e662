//! Fields that describe one HTTP/1.1 connection rather than the message (RFC 9110, section
//! 7.6.1), taken off a request before it goes out on another connection: `Connection` and the
//! fields it names, and the fields that are always hop-by-hop.

use http::header;
use pingora_http::RequestHeader;

/// Always hop-by-hop, whether or not `Connection` names them.
const HOP_BY_HOP: [&str; 8] = [
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Remove `request`'s connection-specific fields.
pub fn strip(request: &mut RequestHeader) {
    let named: Vec<String> = request
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .filter_map(|token| std::str::from_utf8(token.trim_ascii()).ok())
        .filter(|token| !token.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    request.remove_header(&header::CONNECTION);
    for name in named.iter().map(String::as_str).chain(HOP_BY_HOP) {
        request.remove_header(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_fields_and_the_fields_connection_names_are_removed() {
        let mut request = RequestHeader::build("GET", b"/", None).expect("request");
        for (name, value) in [
            ("host", "a"),
            ("connection", "keep-alive, X-Secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("upgrade", "h2c"),
            ("http2-settings", "AAA"),
            ("proxy-authorization", "Basic eA=="),
            ("x-kept", "yes"),
        ] {
            request.append_header(name, value).expect("header");
        }
        strip(&mut request);
        let left: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(left, ["host", "x-kept"]);
    }
}
