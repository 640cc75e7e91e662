//! Why the ingress-nginx annotations no feature translates are left out: the ones Gateway API
//! (v1.6) has no field for say so and what to do instead; the rest are not translated yet.

use crate::ingress::report::Outcome;

/// Annotations without a Gateway API equivalent, by name prefix, and what to do instead.
const NO_EQUIVALENT: &[(&str, &str)] = &[
    (
        "whitelist-source-range",
        "Gateway API has no client address filter; restrict the Gateway's load balancer \
         (loadBalancerSourceRanges) or use a NetworkPolicy",
    ),
    (
        "allowlist-source-range",
        "Gateway API has no client address filter; restrict the Gateway's load balancer \
         (loadBalancerSourceRanges) or use a NetworkPolicy",
    ),
    (
        "denylist-source-range",
        "Gateway API has no client address filter; use a NetworkPolicy",
    ),
    (
        "proxy-body-size",
        "Gateway API has no request body limit, and Portico no per-route one yet",
    ),
    (
        "limit-",
        "Gateway API has no rate or connection limit, and Portico no policy for one yet",
    ),
    (
        "auth-",
        "authentication has no Gateway API field in v1.6 (ExternalAuth is experimental and not \
         built in Portico)",
    ),
    (
        "affinity",
        "session persistence is experimental in Gateway API and not built in Portico",
    ),
    (
        "session-cookie-",
        "session persistence is experimental in Gateway API and not built in Portico",
    ),
    (
        "custom-headers",
        "response headers from a ConfigMap: add them with a ResponseHeaderModifier filter by hand",
    ),
];

/// The outcome reported for an annotation no feature translates.
pub(super) fn outcome(name: &str) -> Outcome {
    let reason = NO_EQUIVALENT
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map_or(
            "portico migrate does not translate this annotation yet",
            |(_, why)| why,
        );
    Outcome::NotPossible(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_gaps_say_what_to_do_and_the_rest_are_not_translated_yet() {
        let Outcome::NotPossible(why) = outcome("limit-rps") else {
            panic!("limit-rps translated");
        };
        assert!(why.contains("rate"), "{why}");
        let Outcome::NotPossible(why) = outcome("canary-by-cookie") else {
            panic!("canary-by-cookie translated");
        };
        assert!(why.contains("not translate"), "{why}");
    }
}
