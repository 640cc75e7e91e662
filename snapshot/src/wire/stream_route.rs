//! Wire conversions of a layer-4 route and its backends.

use super::{WireError, collect, non_empty, proto};
use crate::names::ClusterName;
use crate::stream_route as model;

impl From<model::StreamRoute> for proto::StreamRoute {
    fn from(r: model::StreamRoute) -> Self {
        Self {
            key: r.key,
            hostnames: r.hostnames,
            backends: r.backends.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::StreamRoute> for model::StreamRoute {
    type Error = WireError;
    fn try_from(r: proto::StreamRoute) -> Result<Self, WireError> {
        Ok(Self {
            key: r.key,
            hostnames: r.hostnames,
            backends: collect(r.backends)?,
        })
    }
}

impl From<model::StreamBackend> for proto::StreamBackend {
    fn from(b: model::StreamBackend) -> Self {
        Self {
            cluster: b.cluster.map(|c| c.0).unwrap_or_default(),
            weight: b.weight,
        }
    }
}

impl TryFrom<proto::StreamBackend> for model::StreamBackend {
    type Error = WireError;
    fn try_from(b: proto::StreamBackend) -> Result<Self, WireError> {
        Ok(Self {
            cluster: non_empty(b.cluster).map(ClusterName),
            weight: b.weight,
        })
    }
}
