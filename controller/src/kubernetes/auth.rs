//! Data-plane authentication: a data plane presents its pod's projected ServiceAccount token;
//! the API server vouches for it (TokenReview), and the ServiceAccount decides the one Gateway
//! it may subscribe to. A pod cannot claim another Gateway, whatever its flags say.

use std::sync::Arc;

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
}

impl TokenReviewer {
    /// Accept tokens issued for `audience`.
    pub fn new(client: Client, audience: String, stores: Arc<Stores>) -> Self {
        Self {
            client,
            audience,
            stores,
        }
    }
}

#[tonic::async_trait]
impl Authenticate for TokenReviewer {
    async fn gateways_for(&self, token: &str) -> Result<Vec<ObjectRef>, Status> {
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
        let username = status.user.and_then(|u| u.username).unwrap_or_default();
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
