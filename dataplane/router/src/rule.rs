//! A matched rule as the data plane carries it out: header edits parsed into the `http` crate's
//! types, redirect or rewrite, timeouts, and a weighted choice of backends with their own
//! header edits. Compiled once per snapshot.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use portico_snapshot::{ClusterName, Fraction, HttpFilter, PathRewrite, RequestRedirect};

use crate::cors::Cors;
use crate::error::BuildError;

/// The kind of route a rule belongs to, which decides how a request it cannot forward is
/// answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// An HTTPRoute rule: 500 without a valid backend.
    Http,
    /// A GRPCRoute rule: 503 without a valid backend, which gRPC clients read as `UNAVAILABLE`.
    Grpc,
}

impl RuleKind {
    /// The status answering a request the rule has no valid backend for, as the route kind's
    /// specification says.
    pub const fn no_backend_status(self) -> u16 {
        match self {
            Self::Http => 500,
            Self::Grpc => 503,
        }
    }
}

/// What to do with a request that matched a rule.
#[derive(Debug)]
pub struct RouteAction {
    /// `namespace/name` of the route, for logs and metrics.
    pub route: Arc<str>,
    /// The kind of the route.
    pub kind: RuleKind,
    /// Header edits for the request before proxying, in order.
    pub request_headers: Vec<CompiledHeaderModifier>,
    /// Header edits for the backend's response, in order.
    pub response_headers: Vec<CompiledHeaderModifier>,
    /// When set, answer with this redirect instead of proxying.
    pub redirect: Option<RequestRedirect>,
    /// Changes to the host and path the request is proxied with.
    pub rewrite: Rewrite,
    /// How long to wait for the backend.
    pub timeouts: Timeouts,
    /// Whether and how a failed attempt at a backend is tried again.
    pub retry: Option<RetryPolicy>,
    /// Where to send the request.
    pub backends: WeightedBackends,
    /// Where copies of the request go.
    pub mirrors: Vec<Mirror>,
    /// Cross-origin resource sharing, when the rule has a CORS filter.
    pub cors: Option<Cors>,
}

/// A RequestMirror: a copy of a share of requests to one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The cluster the copies go to.
    pub cluster: ClusterName,
    /// The share of requests copied.
    pub fraction: Fraction,
}

impl Mirror {
    /// Whether the request drawing `random` (uniform over `u32`) is copied: exactly
    /// `numerator` of every `denominator` draws are.
    pub fn takes(&self, random: u32) -> bool {
        let Fraction {
            numerator,
            denominator,
        } = self.fraction;
        denominator > 0 && random % denominator < numerator
    }
}

/// A URLRewrite, ready to apply.
#[derive(Debug, Default)]
pub struct Rewrite {
    /// Replacement `Host` header.
    pub host: Option<HeaderValue>,
    /// Replacement path.
    pub path: Option<PathRewrite>,
}

/// A rule's timeouts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the request's arrival until the response starts.
    pub request: Option<Duration>,
    /// For each attempt at a backend, until its response starts.
    pub backend_request: Option<Duration>,
}

/// A rule's retries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Response statuses that make an attempt fail, sorted.
    codes: Vec<u16>,
    /// Tries after the first one.
    pub attempts: u32,
    /// The least wait before each retry.
    pub backoff: Duration,
}

impl RetryPolicy {
    /// Retries on `codes`, `attempts` times, waiting `backoff` before each.
    pub fn new(mut codes: Vec<u16>, attempts: u32, backoff: Duration) -> Self {
        codes.sort_unstable();
        codes.dedup();
        Self {
            codes,
            attempts,
            backoff,
        }
    }

    /// Whether a response with `status` makes the attempt fail.
    pub fn retries_status(&self, status: u16) -> bool {
        self.codes.binary_search(&status).is_ok()
    }
}

/// A header modifier with names and values parsed once.
#[derive(Debug, Default)]
pub struct CompiledHeaderModifier {
    /// Replace these headers.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Append these headers.
    pub add: Vec<(HeaderName, HeaderValue)>,
    /// Remove these headers.
    pub remove: Vec<HeaderName>,
}

/// One backend of a rule.
#[derive(Debug, Default)]
pub struct Backend {
    /// The cluster; `None` for an invalid backendRef, whose share is answered with 500.
    pub cluster: Option<ClusterName>,
    /// Header edits for requests to this backend, after the rule's.
    pub request_headers: Vec<CompiledHeaderModifier>,
    /// Header edits for this backend's responses, after the rule's.
    pub response_headers: Vec<CompiledHeaderModifier>,
}

/// A weighted choice between backends. Invalid backendRefs keep their share of traffic and
/// yield no cluster, so that share is answered with 500 as the spec requires.
#[derive(Debug, Default)]
pub struct WeightedBackends {
    backends: Vec<Backend>,
    cumulative: Vec<u64>,
}

impl WeightedBackends {
    /// The index of the backend for a uniformly random `random`; `None` when every weight is 0.
    pub fn pick(&self, random: u64) -> Option<usize> {
        let total = *self.cumulative.last()?;
        if total == 0 {
            return None;
        }
        let point = random % total;
        Some(self.cumulative.partition_point(|&c| c <= point))
    }

    /// The backend at `index`, as [`Self::pick`] returned it.
    pub fn get(&self, index: usize) -> Option<&Backend> {
        self.backends.get(index)
    }
}

/// The `http` crate's form of a header. The snapshot's values are already valid HTTP, so this
/// only fails for a value the `http` crate is stricter about than HTTP itself.
pub(crate) fn header_pair(
    route: &str,
    name: &portico_snapshot::HeaderName,
    value: Option<&portico_snapshot::HeaderValue>,
) -> Result<(HeaderName, HeaderValue), BuildError> {
    let name = HeaderName::from_bytes(name.as_str().as_bytes())
        .map_err(|_| BuildError(format!("route {route}: invalid header name {name:?}")))?;
    let value = HeaderValue::from_bytes(value.map_or(&[][..], |v| v.as_str().as_bytes()))
        .map_err(|_| BuildError(format!("route {route}: invalid value for header {name}")))?;
    Ok((name, value))
}

fn header_modifier(
    route: &str,
    m: &portico_snapshot::HeaderModifier,
) -> Result<CompiledHeaderModifier, BuildError> {
    let pairs = |headers: &[portico_snapshot::Header]| {
        headers
            .iter()
            .map(|h| header_pair(route, &h.name, Some(&h.value)))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(CompiledHeaderModifier {
        set: pairs(&m.set)?,
        add: pairs(&m.add)?,
        remove: m
            .remove
            .iter()
            .map(|n| header_pair(route, n, None).map(|(name, _)| name))
            .collect::<Result<_, _>>()?,
    })
}

/// Request and response header edits of `filters`; other filters are left to the caller.
fn header_modifiers(
    route: &str,
    filters: &[HttpFilter],
) -> Result<(Vec<CompiledHeaderModifier>, Vec<CompiledHeaderModifier>), BuildError> {
    let mut request = Vec::new();
    let mut response = Vec::new();
    for filter in filters {
        match filter {
            HttpFilter::RequestHeaderModifier(m) => request.push(header_modifier(route, m)?),
            HttpFilter::ResponseHeaderModifier(m) => response.push(header_modifier(route, m)?),
            HttpFilter::RequestRedirect(_)
            | HttpFilter::UrlRewrite(_)
            | HttpFilter::RequestMirror(_)
            | HttpFilter::Cors(_) => {}
        }
    }
    Ok((request, response))
}

/// Compile one rule of HTTPRoute `route`.
pub(crate) fn compile_action(
    route: &str,
    rule: &portico_snapshot::HttpRule,
) -> Result<RouteAction, BuildError> {
    let mut action = forwarding(route, RuleKind::Http, &rule.filters, &rule.backends)?;
    action.timeouts = Timeouts {
        request: rule.timeouts.request_ms.map(Duration::from_millis),
        backend_request: rule.timeouts.backend_request_ms.map(Duration::from_millis),
    };
    action.retry = rule.retry.as_ref().map(|retry| {
        RetryPolicy::new(
            retry.codes.clone(),
            retry.attempts,
            Duration::from_millis(retry.backoff_ms),
        )
    });
    Ok(action)
}

/// Compile one rule of GRPCRoute `route`.
pub(crate) fn compile_grpc_action(
    route: &str,
    rule: &portico_snapshot::GrpcRule,
) -> Result<RouteAction, BuildError> {
    forwarding(route, RuleKind::Grpc, &rule.filters, &rule.backends)
}

/// A rule's filters and weighted backends, without timeouts or retries.
fn forwarding(
    route: &str,
    kind: RuleKind,
    filters: &[HttpFilter],
    weighted: &[portico_snapshot::WeightedBackend],
) -> Result<RouteAction, BuildError> {
    let (request_headers, response_headers) = header_modifiers(route, filters)?;
    let mut redirect = None;
    let mut rewrite = Rewrite::default();
    let mut mirrors = Vec::new();
    let mut cors = None;
    for filter in filters {
        match filter {
            HttpFilter::Cors(policy) => cors = Some(Cors::compile(route, policy)?),
            HttpFilter::RequestRedirect(r) => redirect = Some(r.clone()),
            HttpFilter::RequestMirror(m) => mirrors.push(Mirror {
                cluster: m.cluster.clone(),
                fraction: m.fraction,
            }),
            HttpFilter::UrlRewrite(r) => {
                rewrite.host = r
                    .hostname
                    .as_ref()
                    .map(|h| {
                        HeaderValue::from_str(h.as_str()).map_err(|_| {
                            BuildError(format!("route {route}: invalid rewrite hostname {h:?}"))
                        })
                    })
                    .transpose()?;
                rewrite.path = r.path.clone();
            }
            HttpFilter::RequestHeaderModifier(_) | HttpFilter::ResponseHeaderModifier(_) => {}
        }
    }
    let mut total = 0u64;
    let mut backends = Vec::with_capacity(weighted.len());
    let mut cumulative = Vec::with_capacity(weighted.len());
    for b in weighted {
        let (request_headers, response_headers) = header_modifiers(route, &b.filters)?;
        total += u64::from(b.weight);
        cumulative.push(total);
        backends.push(Backend {
            cluster: b.cluster.clone(),
            request_headers,
            response_headers,
        });
    }
    Ok(RouteAction {
        route: Arc::from(route),
        kind,
        request_headers,
        response_headers,
        redirect,
        rewrite,
        timeouts: Timeouts::default(),
        retry: None,
        backends: WeightedBackends {
            backends,
            cumulative,
        },
        mirrors,
        cors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(clusters: &[Option<&str>], cumulative: &[u64]) -> WeightedBackends {
        WeightedBackends {
            backends: clusters
                .iter()
                .map(|c| Backend {
                    cluster: c.map(Into::into),
                    ..Default::default()
                })
                .collect(),
            cumulative: cumulative.to_vec(),
        }
    }

    fn picked(backends: &WeightedBackends, random: u64) -> Option<&str> {
        let index = backends.pick(random)?;
        backends
            .get(index)?
            .cluster
            .as_ref()
            .map(ClusterName::as_str)
    }

    #[test]
    fn weights_split_by_cumulative_share_and_invalid_refs_keep_theirs() {
        let b = backends(&[Some("a"), None, Some("c")], &[70, 80, 100]);
        assert_eq!(picked(&b, 0), Some("a"));
        assert_eq!(picked(&b, 69), Some("a"));
        assert_eq!(picked(&b, 70), None);
        assert_eq!(b.pick(70), Some(1), "the invalid backend's share is picked");
        assert_eq!(picked(&b, 80), Some("c"));
        assert_eq!(picked(&b, 199), Some("c"));
        assert_eq!(WeightedBackends::default().pick(3), None);
    }

    #[test]
    fn zero_weight_backend_is_never_picked() {
        let b = backends(&[Some("zero"), Some("all")], &[0, 5]);
        assert!((0..100).all(|r| picked(&b, r) == Some("all")));
        let none = backends(&[Some("zero")], &[0]);
        assert_eq!(none.pick(1), None);
    }

    #[test]
    fn a_mirror_takes_its_fraction_of_draws() {
        let mirror = |numerator, denominator| Mirror {
            cluster: "m".into(),
            fraction: Fraction {
                numerator,
                denominator,
            },
        };
        let taken = |m: &Mirror| (0..1000u32).filter(|r| m.takes(*r)).count();
        assert_eq!(taken(&mirror(1, 1)), 1000);
        assert_eq!(taken(&mirror(0, 100)), 0);
        assert_eq!(taken(&mirror(1, 4)), 250);
        assert_eq!(taken(&mirror(33, 100)), 330);
        assert_eq!(
            taken(&mirror(1, 0)),
            0,
            "a malformed fraction copies nothing"
        );
    }
}
