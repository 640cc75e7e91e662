//! The accept loop every TCP listening socket runs, whatever it serves: at most
//! `--max-connections-per-listener` connections at once (further clients wait in the kernel's
//! backlog), a jittered pause after a failed accept (out of file descriptors, say), and an end
//! when the socket is no longer needed or the drain's grace period is over.

use std::future::Future;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::backoff::Backoff;
use crate::drain::Drain;
use crate::state::SocketSpec;

/// Accept on `listener` (bound for `spec`) until `stopped` changes or `drain` stops, running
/// `serve` for each connection on a task of its own while it holds one of `connections`.
pub async fn accept_connections<F, S>(
    listener: TcpListener,
    spec: &SocketSpec,
    connections: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
    drain: &Drain,
    mut serve: F,
) where
    F: FnMut(TcpStream) -> S,
    S: Future<Output = ()> + Send + 'static,
{
    let mut draining = drain.stopped();
    let mut pauses = Backoff::for_accept_errors();
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit,
            _ = stopped.changed() => break,
            _ = draining.wait_for(|&stop| stop) => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => break,
            _ = draining.wait_for(|&stop| stop) => break,
        };
        match accepted {
            Ok((tcp, _peer)) => {
                pauses.reset();
                let served = serve(tcp);
                tokio::spawn(async move {
                    served.await;
                    drop(permit);
                });
            }
            Err(error) => {
                let pause = pauses.next_delay();
                tracing::warn!(address = %spec.address, port = spec.port, %error, pause_ms = pause.as_millis(), "accept failed; pausing");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// One permit per connection a socket may serve at once.
pub fn connection_permits(max_connections: u32) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(
        usize::try_from(max_connections).unwrap_or(Semaphore::MAX_PERMITS),
    ))
}
