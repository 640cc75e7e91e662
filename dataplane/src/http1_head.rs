//! HTTP/1.1 heads spoken by hand to an endpoint, for the WebSocket tunnel: a request head
//! written out, the endpoint's response head read (bounded in size and time) and written back,
//! and how much body a response head announces.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora_http::{RequestHeader, ResponseHeader};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest response head accepted from an endpoint.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Most header fields in an endpoint's response head.
const MAX_RESPONSE_HEADERS: usize = 256;

/// Why an upgrade got no answer from an endpoint, and the status the client gets instead.
pub struct Failure {
    /// The status the client gets.
    pub status: u16,
    /// What went wrong, for the log.
    pub reason: String,
}

impl Failure {
    /// A failure answered with `status`.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

/// How long the body of a non-`101` `response` is, when its head says.
pub fn body_length(response: &ResponseHeader) -> Option<u64> {
    let status = response.status;
    if status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED
    {
        return Some(0);
    }
    if response
        .headers
        .contains_key(http::header::TRANSFER_ENCODING)
    {
        return None;
    }
    response
        .headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Read the endpoint's final answer to the upgrade request: its `101` or a refusal, passing
/// over interim answers (`100`, `103`). Each read must come within `timeout`.
pub async fn read_final_response_head(
    upstream: &mut (impl AsyncRead + Unpin),
    timeout: Duration,
) -> Result<(ResponseHeader, Bytes), Failure> {
    let mut received = BytesMut::with_capacity(4096);
    loop {
        let (response, rest) = read_response_head(upstream, timeout, received).await?;
        if response.status.as_u16() == 101 || !response.status.is_informational() {
            return Ok((response, rest));
        }
        received = BytesMut::from(&rest[..]);
    }
}

/// Read an HTTP/1 response head from `upstream`, after the bytes already `received`, each
/// read within `timeout`: the response and the bytes read after its head.
async fn read_response_head(
    upstream: &mut (impl AsyncRead + Unpin),
    timeout: Duration,
    mut received: BytesMut,
) -> Result<(ResponseHeader, Bytes), Failure> {
    loop {
        if let Some(parsed) = parse_response_head(&received)? {
            let (response, length) = parsed;
            return Ok((response, received.freeze().slice(length..)));
        }
        if received.len() >= MAX_RESPONSE_HEAD {
            return Err(Failure::new(502, "the answer's head is too large"));
        }
        let read = tokio::time::timeout(timeout, upstream.read_buf(&mut received))
            .await
            .map_err(|_| Failure::new(504, "the endpoint did not answer in time"))?
            .map_err(|e| Failure::new(502, format!("reading the answer: {e}")))?;
        if read == 0 {
            return Err(Failure::new(502, "the endpoint closed the connection"));
        }
    }
}

/// The response head at the start of `received` and its length; `None` while incomplete.
fn parse_response_head(received: &[u8]) -> Result<Option<(ResponseHeader, usize)>, Failure> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut parsed = httparse::Response::new(&mut fields);
    match parsed.parse(received) {
        Ok(httparse::Status::Complete(length)) => {
            let status = parsed.code.unwrap_or(502);
            let mut response = ResponseHeader::build(status, Some(parsed.headers.len()))
                .map_err(|e| Failure::new(502, format!("bad status {status}: {e}")))?;
            for field in parsed.headers.iter() {
                response
                    .append_header(field.name.to_string(), field.value)
                    .map_err(|e| Failure::new(502, format!("bad header: {e}")))?;
            }
            Ok(Some((response, length)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(Failure::new(502, format!("bad answer: {e}"))),
    }
}

/// `request`'s head as HTTP/1.1 bytes.
pub fn request_head(request: &RequestHeader) -> Vec<u8> {
    let target = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!("{} {target} HTTP/1.1\r\n", request.method).into_bytes();
    append_fields(&mut head, &request.headers);
    head
}

/// `response`'s head as HTTP/1.1 bytes.
pub fn response_head(response: &ResponseHeader) -> Vec<u8> {
    let status = response.status;
    let reason = status.canonical_reason().unwrap_or("");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).into_bytes();
    append_fields(&mut head, &response.headers);
    head
}

fn append_fields(head: &mut Vec<u8>, fields: &http::HeaderMap) {
    for (name, value) in fields {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_written_back_as_http11() {
        let mut request = RequestHeader::build("GET", b"/a?b=c", None).expect("request");
        request.append_header("host", "x").expect("header");
        assert_eq!(
            request_head(&request),
            b"GET /a?b=c HTTP/1.1\r\nhost: x\r\n\r\n"
        );
        let mut response = ResponseHeader::build(101, None).expect("response");
        response
            .append_header("upgrade", "websocket")
            .expect("header");
        assert_eq!(
            response_head(&response),
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"
        );
    }
}
