//! Leader election on a `coordination.k8s.io/v1` Lease, so only one replica serves snapshots
//! and writes status.
//!
//! A candidate takes the Lease when it is free or when its record (holder and renew time) has
//! not changed for a full lease duration as measured by this process's own clock, so clocks of
//! different machines are never compared. Every write carries the resourceVersion it read, so
//! two candidates cannot both win. The leader renews every `retry` and steps down when it has
//! not renewed for two thirds of the lease duration, before anybody else may take over.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

/// Contends for and holds one Lease.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    retry: Duration,
    /// The last record seen and when this process first saw it.
    observed: Option<(String, Instant)>,
}

impl Elector {
    /// An elector for Lease `name` in `api`'s namespace, as `identity`.
    pub fn new(api: Api<Lease>, name: String, identity: String, duration: Duration) -> Self {
        let retry = (duration / 5).max(Duration::from_millis(500));
        Self {
            api,
            name,
            identity,
            duration,
            retry,
            observed: None,
        }
    }

    /// Wait until this process holds the Lease.
    pub async fn acquire(&mut self) {
        tracing::info!(lease = %self.name, identity = %self.identity, "waiting for leadership");
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "became leader");
                    return;
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, "leader election failed; retrying")
                }
            }
            tokio::time::sleep(self.retry).await;
        }
    }

    /// Renew the Lease until leadership is lost, then return.
    pub async fn keep(&mut self) {
        let deadline = self.duration * 2 / 3;
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(self.retry).await;
            // A renewal that hangs must not outlive the deadline: the lease would expire while
            // this replica still acts as leader.
            let attempt = Instant::now();
            let left = deadline.saturating_sub(renewed.elapsed());
            match tokio::time::timeout(left, self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => renewed = attempt,
                Ok(Ok(false)) => {
                    tracing::error!(lease = %self.name, "another replica holds the lease now");
                    return;
                }
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.name, %error, "cannot renew the lease")
                }
                Err(_) => tracing::warn!(lease = %self.name, "lease renewal timed out"),
            }
            if renewed.elapsed() > deadline {
                tracing::error!(lease = %self.name, "lease not renewed in time; stepping down");
                return;
            }
        }
    }

    /// Give the Lease up so a standby takes over at once (on shutdown). Bounded in time.
    pub async fn release(&mut self) {
        if tokio::time::timeout(self.retry * 2, self.try_release())
            .await
            .is_err()
        {
            tracing::warn!(lease = %self.name, "releasing the lease timed out");
        }
    }

    async fn try_release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.name, "lease released"),
            Err(error) => tracing::warn!(lease = %self.name, %error, "cannot release the lease"),
        }
    }

    /// One round: take or renew the Lease if allowed. `Ok(true)` means this process holds it.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let seconds = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return conflict_is_false(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let record = format!("{holder}@{:?}", spec.renew_time);
        match &self.observed {
            Some((seen, _)) if *seen == record => {}
            _ => self.observed = Some((record, Instant::now())),
        }
        let mine = holder == self.identity;
        let expired = holder.is_empty()
            || self
                .observed
                .as_ref()
                .is_some_and(|(_, since)| since.elapsed() > self.duration);
        if !mine && !expired {
            return Ok(false);
        }
        let mut spec = spec;
        if !mine {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or_default() + 1);
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(seconds);
        lease.spec = Some(spec);
        conflict_is_false(
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
    }
}

/// A write that lost a race (409 Conflict) means somebody else got there first.
fn conflict_is_false<T>(result: Result<T, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}
