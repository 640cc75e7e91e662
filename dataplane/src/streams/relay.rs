//! Copy a stream both ways until both sides are done: each side's end of data is passed on as
//! a half-close (the other direction keeps flowing), bytes are counted as they go, and the
//! stream is closed when it stays silent too long or outlives its route by the drain timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::IntCounter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Bytes read from one side before they are written to the other.
const CHUNK: usize = 16 * 1024;

/// Why a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Both sides finished (or one broke the stream).
    Done,
    /// Nothing moved for the idle timeout.
    Idle,
    /// The route was gone for the drain timeout.
    Unrouted,
}

/// When the stream last moved, in milliseconds since it started.
struct Activity {
    start: Instant,
    last: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// What a relay is held to.
pub struct Limits<F> {
    /// Close after this long without a byte either way.
    pub idle: Duration,
    /// Close this long after `routed` first says no.
    pub drain: Duration,
    /// Whether the stream's route is still served (asked about once a second).
    pub routed: F,
}

/// Relay between `client` and `upstream`, counting bytes into `from_client` and `to_client`.
pub async fn relay<C, U, F>(
    client: C,
    upstream: U,
    from_client: &IntCounter,
    to_client: &IntCounter,
    mut limits: Limits<F>,
) -> Ended
where
    C: AsyncRead + AsyncWrite,
    U: AsyncRead + AsyncWrite,
    F: FnMut() -> bool,
{
    let activity = Activity {
        start: Instant::now(),
        last: AtomicU64::new(0),
    };
    let (client_read, client_write) = tokio::io::split(client);
    let (upstream_read, upstream_write) = tokio::io::split(upstream);
    let both = async {
        tokio::try_join!(
            pump(client_read, upstream_write, from_client, &activity),
            pump(upstream_read, client_write, to_client, &activity),
        )
    };
    let watch = async {
        let tick = limits.idle.min(Duration::from_secs(1));
        let mut unrouted_since: Option<Instant> = None;
        loop {
            tokio::time::sleep(tick).await;
            if activity.idle_for() >= limits.idle {
                return Ended::Idle;
            }
            if (limits.routed)() {
                unrouted_since = None;
            } else if unrouted_since.get_or_insert_with(Instant::now).elapsed() >= limits.drain {
                return Ended::Unrouted;
            }
        }
    };
    tokio::select! {
        _ = both => Ended::Done,
        ended = watch => ended,
    }
}

/// Copy `from` to `to` until `from` ends, then half-close `to`.
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    counter: &IntCounter,
    activity: &Activity,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let read = from.read(&mut buffer).await?;
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
        // A TLS stream may hold written bytes until flushed.
        to.flush().await?;
        counter.inc_by(read as u64);
        activity.touch();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::duplex;

    use super::*;

    fn counter() -> IntCounter {
        IntCounter::new("bytes", "bytes").expect("counter")
    }

    #[tokio::test]
    async fn each_side_half_closes_and_the_other_keeps_flowing() {
        let (client, mut client_peer) = duplex(64);
        let (upstream, mut upstream_peer) = duplex(64);
        let (from, to) = (counter(), counter());
        let limits = Limits {
            idle: Duration::from_secs(5),
            drain: Duration::from_secs(5),
            routed: || true,
        };
        let relay = tokio::spawn(async move { relay(client, upstream, &from, &to, limits).await });
        client_peer.write_all(b"request").await.expect("write");
        client_peer.shutdown().await.expect("half-close");
        let mut got = Vec::new();
        upstream_peer.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, b"request", "the client's end reached the upstream");
        // The upstream answers after the client stopped sending.
        upstream_peer.write_all(b"answer").await.expect("write");
        upstream_peer.shutdown().await.expect("close");
        let mut answer = Vec::new();
        client_peer.read_to_end(&mut answer).await.expect("read");
        assert_eq!(answer, b"answer");
        assert_eq!(relay.await.expect("relay"), Ended::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_stream_closes_after_the_idle_timeout_and_an_unrouted_one_after_the_drain() {
        let limits = |routed: bool| Limits {
            idle: Duration::from_secs(60),
            drain: Duration::from_secs(3),
            routed: move || routed,
        };
        let (from, to) = (counter(), counter());
        let (client, _client_peer) = duplex(64);
        let (upstream, _upstream_peer) = duplex(64);
        let started = Instant::now();
        assert_eq!(
            relay(client, upstream, &from, &to, limits(true)).await,
            Ended::Idle
        );
        assert!(started.elapsed() >= Duration::from_secs(60));
        let (client, _client_peer) = duplex(64);
        let (upstream, _upstream_peer) = duplex(64);
        let started = Instant::now();
        assert_eq!(
            relay(client, upstream, &from, &to, limits(false)).await,
            Ended::Unrouted
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
