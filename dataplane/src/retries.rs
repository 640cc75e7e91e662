//! A rule's retries (HTTPRoute `retry`): an attempt at a backend that failed is tried again,
//! on the cluster's next endpoint and after the rule's backoff, while attempts remain, the
//! request can be replayed and its request timeout leaves time. An attempt fails with a
//! response whose status the rule names (decided before anything reaches the client), a
//! connection that could not be made or broke, or the backend timeout running out.
//!
//! A request is replayable while Pingora's retry buffer holds all of its body that was sent
//! (`BODY_BUF_LIMIT`, 64 KiB); a larger body is never sent twice. Out of attempts, the last
//! response goes to the client as it came.

use std::time::{Duration, Instant};

use pingora_core::{Error, ErrorType, Result};
use portico_router::RetryPolicy;

/// The retries of one request.
#[derive(Debug, Default)]
pub(crate) struct Retries {
    /// Retries granted so far.
    made: u32,
}

impl Retries {
    /// Whether a failed attempt is tried again under `policy` before `deadline`: attempts
    /// remain and the request is `replayable`. Granting one counts it.
    pub fn grant(
        &mut self,
        policy: Option<&RetryPolicy>,
        deadline: Option<Instant>,
        replayable: bool,
    ) -> bool {
        let Some(policy) = policy else {
            return false;
        };
        let time_left = deadline.is_none_or(|d| Instant::now() + policy.backoff < d);
        let granted = replayable && self.made < policy.attempts && time_left;
        if granted {
            self.made += 1;
        }
        granted
    }

    /// How long to wait before the next attempt: the backoff after a granted retry, none
    /// before the first attempt.
    pub fn wait(&self, policy: Option<&RetryPolicy>) -> Duration {
        match policy {
            Some(policy) if self.made > 0 => policy.backoff,
            _ => Duration::ZERO,
        }
    }

    /// Retries granted so far.
    pub fn made(&self) -> u32 {
        self.made
    }
}

/// The error that abandons an attempt answered with `status`, to be retried.
pub(crate) fn retry_status(status: u16) -> Result<()> {
    let mut error = Error::explain(
        ErrorType::HTTPStatus(status),
        "the backend answered with a status the rule retries",
    );
    error.set_retry(true);
    Err(error.into_up())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32, backoff_ms: u64) -> RetryPolicy {
        RetryPolicy::new(vec![503, 500], attempts, Duration::from_millis(backoff_ms))
    }

    #[test]
    fn grants_at_most_the_rules_attempts() {
        let policy = policy(2, 0);
        assert!(policy.retries_status(500) && policy.retries_status(503));
        assert!(!policy.retries_status(502));
        let mut retries = Retries::default();
        assert!(retries.grant(Some(&policy), None, true));
        assert!(retries.grant(Some(&policy), None, true));
        assert!(!retries.grant(Some(&policy), None, true), "out of attempts");
        assert_eq!(retries.made(), 2);
        assert!(
            !Retries::default().grant(None, None, true),
            "no policy, no retry"
        );
    }

    #[test]
    fn never_retries_what_cannot_be_replayed_or_would_outlive_the_request_timeout() {
        let policy = policy(3, 50);
        assert!(!Retries::default().grant(Some(&policy), None, false));
        let soon = Instant::now() + Duration::from_millis(10);
        assert!(
            !Retries::default().grant(Some(&policy), Some(soon), true),
            "the backoff would end after the deadline"
        );
        let mut retries = Retries::default();
        assert_eq!(retries.wait(Some(&policy)), Duration::ZERO);
        assert!(retries.grant(Some(&policy), None, true));
        assert_eq!(retries.wait(Some(&policy)), Duration::from_millis(50));
    }
}
