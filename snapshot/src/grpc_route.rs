//! A GRPCRoute as a listener carries it: rules matching a gRPC service and method (each exact
//! or a regular expression) and headers, with header edits, mirrors and weighted backends.
//!
//! A gRPC call is an HTTP/2 `POST` to `/{service}/{method}`; the data plane's router files
//! these matches among the listener's paths, with the GRPCRoute precedence (more characters of
//! exact service, then of exact method, then more header matches).

use serde::{Deserialize, Serialize};

use crate::route::{HeaderMatch, HttpFilter, ValueMatch, WeightedBackend};

/// A GRPCRoute as attached to one listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRoute {
    /// `namespace/name` of the GRPCRoute.
    pub key: String,
    /// Hostnames served, already intersected with the listener's hostname. Empty means any.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The route's rules, in their declared order.
    pub rules: Vec<GrpcRule>,
}

/// One GRPCRoute rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcRule {
    /// Alternatives: the rule applies when any of them matches. Never empty (a rule without
    /// matches gets one matching every call).
    pub matches: Vec<GrpcMatch>,
    /// Filters applied in order: header modifiers and mirrors only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpFilter>,
    /// Weighted backends, spoken to over HTTP/2. Empty (or all weights zero) means the call
    /// is answered `UNAVAILABLE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<WeightedBackend>,
}

/// Conditions a call must all meet. Without service and method, any call matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrpcMatch {
    /// The service, fully qualified (`package.Service`): exact ([`is_service_name`]) or a
    /// regular expression the whole service must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ValueMatch<String>>,
    /// The method: exact ([`is_method_name`]) or a regular expression the whole method must
    /// match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<ValueMatch<String>>,
    /// Headers (metadata) that must be present with matching values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
}

impl GrpcMatch {
    /// Whether an exact service or method is well formed, so it can be filed as a path.
    pub fn names_are_valid(&self) -> bool {
        let exact = |value: &Option<ValueMatch<String>>, valid: fn(&str) -> bool| match value {
            Some(ValueMatch::Exact(name)) => valid(name),
            _ => true,
        };
        exact(&self.service, is_service_name) && exact(&self.method, is_method_name)
    }
}

/// Whether `name` is a service name as GRPCRoute accepts it: dot-separated identifiers
/// (letters, digits, `_`; not starting with a digit), optionally with a leading dot.
pub fn is_service_name(name: &str) -> bool {
    let name = name.strip_prefix('.').unwrap_or(name);
    !name.is_empty() && name.split('.').all(is_identifier)
}

/// Whether `name` is a method name as GRPCRoute accepts it: one identifier.
pub fn is_method_name(name: &str) -> bool {
    is_identifier(name)
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_and_method_names_follow_the_api_patterns() {
        for good in ["grpc.health.v1.Health", ".pkg.Svc", "Svc", "_a.b_2"] {
            assert!(is_service_name(good), "{good}");
        }
        for bad in [
            "", ".", "pkg..Svc", "pkg.Svc.", "1pkg.Svc", "pkg/Svc", "pkg.Svc*",
        ] {
            assert!(!is_service_name(bad), "{bad}");
        }
        assert!(is_method_name("SayHello_2"));
        for bad in ["", "Say.Hello", "9Lives", "Say/Hello"] {
            assert!(!is_method_name(bad), "{bad}");
        }
    }

    #[test]
    fn only_exact_names_are_checked() {
        let regex = GrpcMatch {
            service: Some(ValueMatch::RegularExpression(
                crate::RegexPattern::try_from("pkg\\..*").expect("valid"),
            )),
            method: Some(ValueMatch::Exact("Get".into())),
            headers: Vec::new(),
        };
        assert!(regex.names_are_valid());
        let bad = GrpcMatch {
            method: Some(ValueMatch::Exact("Get/Put".into())),
            ..regex
        };
        assert!(!bad.names_are_valid());
    }
}
