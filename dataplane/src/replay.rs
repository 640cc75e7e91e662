//! A client stream that first gives back bytes already read from it. Portico reads the start of
//! a connection itself (to bound how long it may take and to tell HTTP/2 from HTTP/1); the
//! Pingora application it then hands the connection to must see those bytes again.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Buf, Bytes};
use pingora_core::protocols::raw_connect::ProxyDigest;
use pingora_core::protocols::tls::{SslDigest, TlsRef};
use pingora_core::protocols::{
    ALPN, GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    Stream, TimingDigest, UniqueID, UniqueIDType,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `inner`, read from `replayed` first.
pub struct Replay {
    replayed: Bytes,
    inner: Stream,
}

impl Replay {
    /// A stream reading `replayed`, then the rest of `inner`.
    pub fn new(replayed: Bytes, inner: Stream) -> Self {
        Self { replayed, inner }
    }
}

impl fmt::Debug for Replay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replay")
            .field("replayed", &self.replayed.len())
            .field("inner", &self.inner)
            .finish()
    }
}

impl AsyncRead for Replay {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.replayed.is_empty() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let n = self.replayed.len().min(buf.remaining());
        buf.put_slice(&self.replayed[..n]);
        self.replayed.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for Replay {
    async fn shutdown(&mut self) {
        Shutdown::shutdown(self.inner.as_mut()).await;
    }
}

impl UniqueID for Replay {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for Replay {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for Replay {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for Replay {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }
}

impl GetSocketDigest for Replay {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }
}

/// Peeking is not offered: the replayed bytes are the peek.
#[async_trait]
impl Peek for Replay {}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[tokio::test]
    async fn reads_the_replayed_bytes_then_the_stream_and_writes_through() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let mut client = TcpStream::connect(address).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let inner = pingora_core::protocols::l4::stream::Stream::from(accepted);
        let mut replay = Replay::new(Bytes::from_static(b"PRI * "), Box::new(inner));

        client.write_all(b"HTTP/2.0").await.expect("write");
        client.shutdown().await.expect("half-close");
        let mut read = Vec::new();
        replay.read_to_end(&mut read).await.expect("read");
        assert_eq!(read, b"PRI * HTTP/2.0");

        replay.write_all(b"answer").await.expect("write through");
        replay.flush().await.expect("flush");
        let mut answer = [0u8; 6];
        client
            .read_exact(&mut answer)
            .await
            .expect("read the answer");
        assert_eq!(&answer, b"answer");
    }
}
