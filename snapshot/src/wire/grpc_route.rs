//! Wire conversions of a gRPC route: rules, service and method matches.

use super::route::{typed_value_match, value_match};
use super::{WireError, collect, proto};
use crate::grpc_route as model;

impl From<model::GrpcRoute> for proto::GrpcRoute {
    fn from(r: model::GrpcRoute) -> Self {
        Self {
            key: r.key,
            hostnames: r.hostnames,
            rules: r.rules.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::GrpcRoute> for model::GrpcRoute {
    type Error = WireError;
    fn try_from(r: proto::GrpcRoute) -> Result<Self, WireError> {
        Ok(Self {
            key: r.key,
            hostnames: r.hostnames,
            rules: collect(r.rules)?,
        })
    }
}

impl From<model::GrpcRule> for proto::GrpcRule {
    fn from(r: model::GrpcRule) -> Self {
        Self {
            matches: r.matches.into_iter().map(Into::into).collect(),
            filters: r.filters.into_iter().map(Into::into).collect(),
            backends: r.backends.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::GrpcRule> for model::GrpcRule {
    type Error = WireError;
    fn try_from(r: proto::GrpcRule) -> Result<Self, WireError> {
        Ok(Self {
            matches: collect(r.matches)?,
            filters: collect(r.filters)?,
            backends: collect(r.backends)?,
        })
    }
}

impl From<model::GrpcMatch> for proto::GrpcMatch {
    fn from(m: model::GrpcMatch) -> Self {
        let name = |value: Option<crate::ValueMatch<String>>| {
            value.map(|value| {
                let (kind, value) = value_match(value);
                proto::NameMatch {
                    value,
                    kind: kind.into(),
                }
            })
        };
        Self {
            service: name(m.service),
            method: name(m.method),
            headers: m.headers.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::GrpcMatch> for model::GrpcMatch {
    type Error = WireError;
    fn try_from(m: proto::GrpcMatch) -> Result<Self, WireError> {
        let name = |field, value: Option<proto::NameMatch>| {
            value
                .map(|n| typed_value_match(field, n.kind, n.value))
                .transpose()
        };
        Ok(Self {
            service: name("grpcMatch.service", m.service)?,
            method: name("grpcMatch.method", m.method)?,
            headers: collect(m.headers)?,
        })
    }
}
