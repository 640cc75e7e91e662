//! Graceful shutdown as load balancers and kube-proxy need it.
//!
//! On SIGTERM (Pingora's shutdown signal) the data plane drains:
//! 1. at once, `/readyz` answers 503 so the endpoint is taken out of rotation, and responses
//!    carry `Connection: close` (Pingora stops keep-alive) so clients move elsewhere;
//! 2. for `--grace-period-seconds`, listeners keep accepting and serving: traffic still sent
//!    here by stale routing rules is answered, not refused;
//! 3. then listeners stop accepting and idle keep-alive connections close (a new connection's
//!    first request is still read: its client may have sent it already); requests in flight
//!    get `--shutdown-timeout-seconds` to finish;
//! 4. the process exits as soon as no connection is left, or when that time is up.
//!
//! Pingora's own sequence (stop accepting at once, then sleep, then cancel every task) is
//! kept only as the backstop: its grace period is set past the end of ours.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;
use tokio::sync::watch;

/// The shared drain state.
#[derive(Clone)]
pub struct Drain {
    /// Set on SIGTERM: `/readyz` answers 503.
    draining: Arc<AtomicBool>,
    /// Set when the grace period ends: stop accepting, close idle connections.
    stop: watch::Sender<bool>,
    /// Connections being served.
    open: Arc<AtomicUsize>,
    /// How long listeners keep accepting after SIGTERM.
    pub grace: Duration,
    /// How long requests in flight get once listeners stopped.
    pub timeout: Duration,
}

impl Drain {
    /// Drain with `grace` of serving and `timeout` for requests in flight.
    pub fn new(grace: Duration, timeout: Duration) -> Self {
        Self {
            draining: Arc::default(),
            stop: watch::Sender::new(false),
            open: Arc::default(),
            grace,
            timeout,
        }
    }

    /// Whether SIGTERM arrived.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// A receiver set when listeners must stop accepting and idle connections close.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Count a connection as open until the guard drops.
    pub fn connection(&self) -> OpenConnection {
        self.open.fetch_add(1, Ordering::AcqRel);
        OpenConnection {
            open: self.open.clone(),
        }
    }

    /// Run the drain: serve through the grace period, stop, wait for connections, exit.
    pub async fn run(&self) -> ! {
        self.draining.store(true, Ordering::Release);
        tracing::info!(
            grace_seconds = self.grace.as_secs(),
            "SIGTERM: not ready any more; serving through the grace period"
        );
        tokio::time::sleep(self.grace).await;
        self.stop.send_replace(true);
        tracing::info!(
            open = self.open.load(Ordering::Acquire),
            timeout_seconds = self.timeout.as_secs(),
            "grace period over: listeners closed; waiting for requests in flight"
        );
        let deadline = tokio::time::Instant::now() + self.timeout;
        while self.open.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.open.load(Ordering::Acquire);
        if left > 0 {
            tracing::warn!(
                connections = left,
                "shutdown timeout reached; closing what is left"
            );
        } else {
            tracing::info!("drained; exiting");
        }
        std::process::exit(0)
    }
}

/// An open connection, counted until dropped.
pub struct OpenConnection {
    open: Arc<AtomicUsize>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits for Pingora's shutdown signal (SIGTERM), then drains.
#[async_trait]
impl BackgroundService for Drain {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        if shutdown.wait_for(|&stopping| stopping).await.is_ok() {
            self.run().await;
        }
    }
}
