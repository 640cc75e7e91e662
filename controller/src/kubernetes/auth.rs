//! Data-plane authentication: a data plane presents its pod's projected ServiceAccount token;
//! the API server vouches for it (TokenReview), and the ServiceAccount decides the one Gateway
//! it may subscribe to. A pod cannot claim another Gateway, whatever its flags say.
//!
//! Accepted tokens are remembered for [`REVIEW_CACHE_TTL`], so data planes reconnecting
//! together (a controller failover, a network blip) cost the API server one review each per
//! window, not one per attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};
use portico_snapshot::ObjectRef;
use tonic::Status;

use super::naming::object_name;
use super::stores::Stores;
use crate::server::Authenticate;

/// Checks data-plane tokens with the API server.
pub struct TokenReviewer {
    client: Client,
    audience: String,
    stores: Arc<Stores>,
    /// Token to the user name the API server vouched for, and until when that is trusted.
    reviewed: Mutex<HashMap<String, (String, Instant)>>,
}

/// How long an accepted token is trusted without asking the API server again.
pub const REVIEW_CACHE_TTL: Duration = Duration::from_secs(30);

/// Tokens remembered at most; expired ones are dropped first, then the cache is emptied.
const REVIEW_CACHE_ENTRIES: usize = 4096;

impl TokenReviewer {
    /// Accept tokens issued for `audience`.
    pub fn new(client: Client, audience: String, stores: Arc<Stores>) -> Self {
        Self {
            client,
            audience,
            stores,
            reviewed: Mutex::default(),
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.reviewed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The user name the API server gives `token`, from the cache when reviewed lately.
    async fn username(&self, token: &str) -> Result<String, Status> {
        let now = Instant::now();
        if let Some((username, until)) = self.cached().get(token)
            && *until > now
        {
            return Ok(username.clone());
        }
        let username = self.review(token).await?;
        let mut cached = self.cached();
        if cached.len() >= REVIEW_CACHE_ENTRIES {
            cached.retain(|_, (_, until)| *until > now);
            if cached.len() >= REVIEW_CACHE_ENTRIES {
                cached.clear();
            }
        }
        cached.insert(
            token.to_string(),
            (username.clone(), now + REVIEW_CACHE_TTL),
        );
        Ok(username)
    }

    /// Ask the API server who `token` belongs to.
    async fn review(&self, token: &str) -> Result<String, Status> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: Some(token.to_string()),
                audiences: Some(vec![self.audience.clone()]),
            },
            ..TokenReview::default()
        };
        let reviewed = Api::<TokenReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| Status::unavailable(format!("cannot review the token: {e}")))?;
        let status = reviewed.status.unwrap_or_default();
        if status.authenticated != Some(true) {
            let why = status
                .error
                .unwrap_or_else(|| "token not accepted".to_string());
            return Err(Status::unauthenticated(why));
        }
        Ok(status.user.and_then(|u| u.username).unwrap_or_default())
    }
}

#[tonic::async_trait]
impl Authenticate for TokenReviewer {
    async fn gateways_for(&self, token: &str) -> Result<Vec<ObjectRef>, Status> {
        let username = self.username(token).await?;
        let Some((namespace, account)) = username
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
        else {
            return Err(Status::permission_denied(format!(
                "{username} is not a data-plane service account"
            )));
        };
        let gateways: Vec<ObjectRef> = self
            .stores
            .gateways
            .state()
            .into_iter()
            .filter(|g| {
                g.namespace().as_deref() == Some(namespace) && object_name(&g.name_any()) == account
            })
            .map(|g| ObjectRef {
                namespace: namespace.to_string(),
                name: g.name_any(),
            })
            .collect();
        match gateways.len() {
            1 => Ok(gateways),
            0 => Err(Status::permission_denied(format!(
                "service account {namespace}/{account} belongs to no Gateway"
            ))),
            _ => Err(Status::permission_denied(format!(
                "service account {namespace}/{account} maps to several Gateways; refusing"
            ))),
        }
    }
}
