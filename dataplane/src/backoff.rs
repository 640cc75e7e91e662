//! Exponential backoff with full jitter: the wait before retry `n` is uniform in
//! `[0, min(max, base * 2^n)]`, so a fleet that failed together (a controller failover, an API
//! server restart) does not retry in lockstep.

use std::time::Duration;

/// Delays between attempts of one operation; [`Backoff::reset`] after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    ceiling: Duration,
}

impl Backoff {
    /// Delays growing from `base` up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            ceiling: base,
        }
    }

    /// Pauses after failed accepts (out of file descriptors, say), from 5 ms up to 1 s, so a
    /// starved accept loop does not spin; every accept loop of Portico uses them.
    pub fn for_accept_errors() -> Self {
        Self::new(Duration::from_millis(5), Duration::from_secs(1))
    }

    /// The delay before the next attempt; each call doubles the ceiling (up to `max`).
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling;
        self.ceiling = (self.ceiling * 2).min(self.max);
        ceiling.mul_f64(rand::random::<f64>())
    }

    /// Start again from `base`.
    pub fn reset(&mut self) {
        self.ceiling = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_a_doubling_ceiling_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for ceiling in [100, 200, 400, 800, 1000, 1000] {
            assert!(backoff.next_delay() <= Duration::from_millis(ceiling));
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn delays_are_spread() {
        let mut backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        let delays: std::collections::HashSet<_> = (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.len() > 1, "jitter must vary the delay");
    }
}
