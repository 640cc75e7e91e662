//! HTTP/1.1 spoken by hand on a socket, for requests a client library would not send as
//! written (oversized, trickling, or with paths it would normalise itself).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection to the proxy on loopback `port`, reads giving up after 10 s.
pub fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Read one response head and the `Content-Length` body after it; the status, the head and
/// the body.
pub fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => received.push(byte[0]),
            other => panic!(
                "connection ended ({other:?}) after {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    let head = String::from_utf8_lossy(&received).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("body");
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// Send `request` and read the answer.
pub fn exchange(port: u16, request: &[u8]) -> (u16, String, String) {
    let mut stream = connect(port);
    stream.write_all(request).expect("send");
    read_response(&mut stream)
}

/// Whether the server closes `stream` without sending anything more (within the read timeout).
pub fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).is_ok() && rest.is_empty()
}
