//! HTTPRoute as a route kind: its parents, hostnames and backendRefs for the shared pipeline,
//! and its rules compiled into snapshot rules (matches, filters, timeouts, weighted backends).

use std::str::FromStr;

use crate::route_kinds::httproutes::{
    HttpRoute, HttpRouteRules, HttpRouteRulesBackendRefs, HttpRouteRulesRetry,
    HttpRouteRulesTimeouts,
};
use portico_snapshot::{HttpRule, Retry, Timeouts, WeightedBackend};

use crate::backends::{self, BackendRef, Resolver};
use crate::conditions::Problem;
use crate::http_filters::{
    compile_backend_filters, compile_filters, mirror_backend_ref, unsupported,
};
use crate::http_matches::compile_matches;
use crate::names;
use crate::parents::parent_references;
use crate::resources::Resources;
use crate::route_kind::RouteKind;
use crate::route_kinds::ParentReference;

/// The HTTPRoute kind.
pub(crate) struct HttpRouteKind;

impl RouteKind for HttpRouteKind {
    const KIND: names::RouteKind = names::RouteKind::Http;
    type Object = HttpRoute;
    type Rules = Vec<HttpRule>;

    fn objects(resources: &Resources) -> &[HttpRoute] {
        &resources.http_routes
    }

    fn parent_refs(route: &HttpRoute) -> Vec<ParentReference> {
        parent_references!(route)
    }

    fn hostnames(route: &HttpRoute) -> &[String] {
        route.spec.hostnames.as_deref().unwrap_or(&[])
    }

    /// Every backendRef, mirrors' included.
    fn backend_refs(route: &HttpRoute) -> Vec<BackendRef<'_>> {
        let rules = route.spec.rules.iter().flatten();
        let backends = rules
            .clone()
            .flat_map(|rule| rule.backend_refs.iter().flatten())
            .map(backend_ref);
        let mirrors = rules
            .flat_map(|rule| rule.filters.iter().flatten())
            .filter_map(|filter| filter.request_mirror.as_ref())
            .map(|mirror| mirror_backend_ref(&mirror.backend_ref));
        backends.chain(mirrors).collect()
    }

    /// Translate a route's rules. An unsupported feature rejects the whole route.
    fn compile(
        route: &HttpRoute,
        backends: &mut Resolver<'_, '_>,
    ) -> Result<Vec<HttpRule>, Problem> {
        let default_rules = [HttpRouteRules::default()];
        let rules = route.spec.rules.as_deref().unwrap_or(&default_rules);
        rules
            .iter()
            .map(|rule| compile_rule(rule, backends))
            .collect()
    }
}

fn backend_ref(reference: &HttpRouteRulesBackendRefs) -> BackendRef<'_> {
    backends::backend_ref!(reference)
}

fn compile_rule(
    rule: &HttpRouteRules,
    resolver: &mut Resolver<'_, '_>,
) -> Result<HttpRule, Problem> {
    let matches = compile_matches(rule.matches.as_deref())?;
    let filters = compile_filters(rule.filters.as_deref(), &matches, resolver)?;
    let mut backends = Vec::new();
    for reference in rule.backend_refs.iter().flatten() {
        let filters = compile_backend_filters(reference.filters.as_deref())?;
        let weight = u32::try_from(reference.weight.unwrap_or(1)).unwrap_or(0);
        let cluster = resolver.resolve(&backend_ref(reference));
        backends.push(WeightedBackend {
            cluster,
            weight,
            filters,
        });
    }
    Ok(HttpRule {
        matches,
        filters,
        backends,
        timeouts: timeouts(rule.timeouts.as_ref())?,
        retry: rule.retry.as_ref().map(retry).transpose()?,
    })
}

/// Retries when `retry.attempts` is not given.
const DEFAULT_RETRY_ATTEMPTS: u32 = 1;
/// The wait before a retry when `retry.backoff` is not given, in milliseconds.
const DEFAULT_RETRY_BACKOFF_MS: u64 = 25;

/// A rule's retries: statuses from 400 to 599; more attempts than [`Retry::MAX_ATTEMPTS`] are
/// made that many (the API sets no maximum, the data plane bounds what one request may cost).
fn retry(retry: &HttpRouteRulesRetry) -> Result<Retry, Problem> {
    let codes = retry
        .codes
        .iter()
        .flatten()
        .map(|&code| {
            u16::try_from(code)
                .ok()
                .filter(|c| (400..=599).contains(c))
                .ok_or_else(|| {
                    unsupported(format!("retry.codes {code}: not a status from 400 to 599"))
                })
        })
        .collect::<Result<_, _>>()?;
    let attempts = match retry.attempts {
        None => DEFAULT_RETRY_ATTEMPTS,
        Some(attempts) => u32::try_from(attempts.max(0))
            .unwrap_or(u32::MAX)
            .min(Retry::MAX_ATTEMPTS),
    };
    let backoff_ms = match retry.backoff.as_deref() {
        None => DEFAULT_RETRY_BACKOFF_MS,
        Some(value) => {
            let duration = gateway_api::Duration::from_str(value)
                .map_err(|e| unsupported(format!("retry.backoff {value:?}: {e}")))?;
            u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
        }
    };
    Ok(Retry {
        codes,
        attempts,
        backoff_ms,
    })
}

/// A rule's timeouts in milliseconds; `0s` (or none) means no timeout of the route's own.
fn timeouts(timeouts: Option<&HttpRouteRulesTimeouts>) -> Result<Timeouts, Problem> {
    let Some(timeouts) = timeouts else {
        return Ok(Timeouts::default());
    };
    let millis = |field: &str, value: Option<&str>| -> Result<Option<u64>, Problem> {
        let Some(value) = value else {
            return Ok(None);
        };
        let duration = gateway_api::Duration::from_str(value)
            .map_err(|e| unsupported(format!("timeouts.{field} {value:?}: {e}")))?;
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Ok((ms > 0).then_some(ms))
    };
    let request_ms = millis("request", timeouts.request.as_deref())?;
    let backend_request_ms = millis("backendRequest", timeouts.backend_request.as_deref())?;
    if let (Some(request), Some(backend)) = (request_ms, backend_request_ms)
        && backend > request
    {
        return Err(unsupported(
            "timeouts.backendRequest may not be longer than timeouts.request",
        ));
    }
    Ok(Timeouts {
        request_ms,
        backend_request_ms,
    })
}
