//! `from-to-www-redirect`: requests for `www.` + the host (or, for a `www.` host, the host
//! without it) are redirected (308) to the host, as ingress-nginx does.

use super::{Annotations, Feature, Plan};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["from-to-www-redirect"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    plan.from_to_www = annotations.is_true("from-to-www-redirect");
    Outcome::Translated
}

/// The host redirected to `host`: `www.` added or removed; none for a wildcard host.
pub fn other_host(host: &str) -> Option<String> {
    if host.starts_with('*') {
        return None;
    }
    Some(match host.strip_prefix("www.") {
        Some(bare) => bare.to_string(),
        None => format!("www.{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_is_added_or_removed() {
        assert_eq!(
            other_host("example.com").as_deref(),
            Some("www.example.com")
        );
        assert_eq!(
            other_host("www.example.com").as_deref(),
            Some("example.com")
        );
        assert_eq!(other_host("*.example.com"), None);
    }
}
