//! Versioned publication of translated snapshots. Every distinct translation result gets the
//! next version; subscribers watch for the latest one.

use std::sync::Arc;

use portico_translate::GatewaySnapshot;
use tokio::sync::watch;

/// One published translation.
#[derive(Debug, Default)]
pub struct Published {
    /// Strictly increasing; 0 means nothing published yet.
    pub version: u64,
    /// Snapshot parts per Gateway.
    pub gateways: Vec<GatewaySnapshot>,
}

/// Hands out versions and notifies subscribers.
pub struct Publisher {
    sender: watch::Sender<Arc<Published>>,
}

impl Publisher {
    /// A publisher with nothing published.
    pub fn new() -> Self {
        Self {
            sender: watch::Sender::new(Arc::default()),
        }
    }

    /// Publish `gateways` unless identical to what is published. Returns the new version.
    pub fn publish(&self, gateways: Vec<GatewaySnapshot>) -> Option<u64> {
        let mut version = None;
        self.sender.send_if_modified(|current| {
            if current.version > 0 && current.gateways == gateways {
                return false;
            }
            let next = current.version + 1;
            *current = Arc::new(Published {
                version: next,
                gateways,
            });
            version = Some(next);
            true
        });
        version
    }

    /// A receiver of every future publication (and the current one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.sender.subscribe()
    }
}
