//! CORS on the request path: a preflight to a rule with a CORS filter is answered by the data
//! plane (204, never forwarded), and the response to an actual cross-origin request gets the
//! rule's `Access-Control-*` headers when its origin is allowed.

use http::{HeaderName, HeaderValue, Method, header};
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::Session;
use portico_router::RouteAction;

/// When `request` is a CORS preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) to `action`'s rule, the headers answering it.
pub fn preflight(
    action: &RouteAction,
    request: &RequestHeader,
) -> Option<Vec<(HeaderName, HeaderValue)>> {
    let cors = action.cors.as_ref()?;
    if request.method != Method::OPTIONS {
        return None;
    }
    let headers = &request.headers;
    let origin = headers.get(header::ORIGIN)?;
    let method = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    Some(cors.preflight(
        origin,
        Some(method),
        headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS),
    ))
}

/// Answer a preflight with 204 and `headers`.
pub async fn answer_preflight(
    session: &mut Session,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> pingora_core::Result<()> {
    let mut response = ResponseHeader::build(204, Some(headers.len()))?;
    for (name, value) in headers {
        response.append_header(name, value)?;
    }
    session
        .write_response_header(Box::new(response), true)
        .await
}

/// The `Origin` of a request to `action`'s rule that its response must answer.
pub fn origin(action: &RouteAction, request: &RequestHeader) -> Option<HeaderValue> {
    action.cors.as_ref()?;
    request.headers.get(header::ORIGIN).cloned()
}

/// Add the rule's CORS headers for a request from `origin` to `response`; without an origin,
/// only `Vary: Origin` (the answer differs by origin, which shared caches must know).
pub fn answer(action: &RouteAction, origin: Option<&HeaderValue>, response: &mut ResponseHeader) {
    let Some(cors) = &action.cors else {
        return;
    };
    let Some(origin) = origin else {
        let _ = response.append_header(header::VARY, HeaderValue::from_static("Origin"));
        return;
    };
    let names: Vec<HeaderName> = response.headers.keys().cloned().collect();
    for (name, value) in cors.response(origin, names.iter()) {
        // Appended, so the backend's own `Vary` values are kept.
        if name == header::VARY {
            let _ = response.append_header(name, value);
        } else {
            let _ = response.insert_header(name, value);
        }
    }
}
