//! Bare answers that end a connection: a status (and a `Location` for redirects) with no
//! body, then a lingering close.

use std::time::Duration;

use pingora_core::protocols::Stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a refused client's remaining input is read and dropped after the answer.
const LINGER: Duration = Duration::from_secs(2);

/// Bytes read and dropped at a time while lingering.
const DISCARD_CHUNK: usize = 4096;

/// Answer with a bare `status` (and `location`, for a redirect) and close the connection. The
/// client may still be sending the rest of its request: its bytes are read and dropped for a
/// moment after the answer (a lingering close, as nginx does), because closing a socket with
/// unread input resets the connection and can destroy the answer before the client has read it.
pub async fn answer_and_close(mut stream: Stream, status: u16, location: Option<&str>) {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let location = location.map_or(String::new(), |l| format!("Location: {l}\r\n"));
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let answered = tokio::time::timeout(LINGER, async {
        stream.write_all(response.as_bytes()).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await;
    if let Ok(Err(error)) = answered {
        tracing::debug!(%error, "cannot send the refusal");
        return;
    }
    let mut discard = [0u8; DISCARD_CHUNK];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(stream.read(&mut discard).await, Ok(n) if n > 0) {}
    })
    .await;
}
