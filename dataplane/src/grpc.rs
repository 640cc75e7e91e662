//! What gRPC asks of the proxy beyond HTTP/2.
//!
//! - A call the data plane answers itself (no route, no backend, an upstream failure) is
//!   answered as a gRPC server would: HTTP 200, `content-type: application/grpc` and the
//!   outcome in `grpc-status` and `grpc-message`, in one HEADERS frame that ends the stream (a
//!   trailers-only response). The gRPC code follows gRPC's HTTP-to-gRPC status mapping, so
//!   clients read the same code as from the bare HTTP status, with a message saying why.
//! - `te: trailers` reaches HTTP/2 backends: gRPC clients send it to say they read trailers,
//!   and strict servers refuse calls without it. Pingora drops it with the other hop-by-hop
//!   fields; it is put back for HTTP/2 backends (HTTP/2 allows `te` with that value only).

use pingora_core::Result;
use pingora_core::protocols::http::HttpTask;
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::Session;

/// Whether `request` is a gRPC call (`application/grpc`, with any subtype such as `+proto`).
pub fn is_call(request: &RequestHeader) -> bool {
    let Some(value) = request.headers.get(http::header::CONTENT_TYPE) else {
        return false;
    };
    let value = value.as_bytes();
    let prefix = GRPC_CONTENT_TYPE.len();
    value
        .get(..prefix)
        .is_some_and(|head| head.eq_ignore_ascii_case(GRPC_CONTENT_TYPE.as_bytes()))
        && matches!(value.get(prefix), None | Some(b'+' | b';'))
}

const GRPC_CONTENT_TYPE: &str = "application/grpc";

/// gRPC status codes the data plane answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 2: the error has no better code.
    Unknown = 2,
    /// 7: the caller may not make this call.
    PermissionDenied = 7,
    /// 12: no route serves this method.
    Unimplemented = 12,
    /// 13: the call was malformed.
    Internal = 13,
    /// 14: no backend could take the call; it may be retried.
    Unavailable = 14,
    /// 16: the caller is not authenticated.
    Unauthenticated = 16,
}

impl Code {
    /// The code a gRPC client reads from a response with HTTP `status` and no `grpc-status`
    /// (gRPC's "HTTP to gRPC status code mapping").
    pub fn for_http_status(status: u16) -> Self {
        match status {
            400 => Self::Internal,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::Unimplemented,
            429 | 502..=504 => Self::Unavailable,
            _ => Self::Unknown,
        }
    }
}

/// Answer the call on `session` with the gRPC equivalent of HTTP `status`.
pub async fn answer(session: &mut Session, status: u16) -> Result<()> {
    let code = Code::for_http_status(status);
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    let mut response = ResponseHeader::build(200, Some(3))?;
    response.insert_header(http::header::CONTENT_TYPE, GRPC_CONTENT_TYPE)?;
    response.insert_header("grpc-status", (code as u8).to_string())?;
    // ASCII words only, so the message needs no percent-encoding.
    response.insert_header("grpc-message", format!("portico: {status} {reason}"))?;
    // As a task, so the end of the stream rides on the HEADERS frame: strict clients (grpc-go)
    // read a trailers-only response only then.
    session
        .write_response_tasks(vec![HttpTask::Header(Box::new(response), true)])
        .await
        .map(|_| ())
}

/// Put `te: trailers` back on a request for an HTTP/2 backend when the client sent it.
pub fn keep_trailers(request: &RequestHeader, upstream: &mut RequestHeader) -> Result<()> {
    let asks_for_trailers = request
        .headers
        .get_all(http::header::TE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"trailers"));
    if asks_for_trailers {
        upstream.insert_header(http::header::TE, "trailers")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> RequestHeader {
        let mut request = RequestHeader::build("POST", b"/pkg.Echo/Say", None).expect("request");
        for (name, value) in headers {
            request
                .append_header(name.to_string(), *value)
                .expect("header");
        }
        request
    }

    #[test]
    fn calls_are_told_apart_by_content_type() {
        assert!(is_call(&request(&[("content-type", "application/grpc")])));
        assert!(is_call(&request(&[(
            "content-type",
            "application/grpc+proto"
        )])));
        assert!(is_call(&request(&[("content-type", "Application/GRPC")])));
        assert!(!is_call(&request(&[("content-type", "application/grpcx")])));
        assert!(!is_call(&request(&[("content-type", "application/json")])));
        assert!(!is_call(&request(&[])));
        let mut odd = request(&[]);
        let bytes = http::HeaderValue::from_bytes(b"applic\xc3\xa9tion/grpc").expect("obs-text");
        odd.insert_header(http::header::CONTENT_TYPE, bytes)
            .expect("header");
        assert!(
            !is_call(&odd),
            "bytes that are not ASCII are no gRPC call, and no panic"
        );
    }

    #[test]
    fn http_statuses_map_to_the_codes_clients_read() {
        assert_eq!(Code::for_http_status(404), Code::Unimplemented);
        assert_eq!(Code::for_http_status(503), Code::Unavailable);
        assert_eq!(Code::for_http_status(504), Code::Unavailable);
        assert_eq!(Code::for_http_status(400), Code::Internal);
        assert_eq!(Code::for_http_status(500), Code::Unknown);
    }

    #[test]
    fn te_trailers_is_kept_only_when_asked_for() {
        let mut upstream = request(&[]);
        keep_trailers(&request(&[("te", "gzip, Trailers")]), &mut upstream).expect("kept");
        assert_eq!(
            upstream.headers.get("te").map(|v| v.as_bytes()),
            Some(&b"trailers"[..])
        );
        let mut upstream = request(&[]);
        keep_trailers(&request(&[("te", "gzip")]), &mut upstream).expect("nothing to keep");
        assert!(upstream.headers.get("te").is_none());
    }
}
