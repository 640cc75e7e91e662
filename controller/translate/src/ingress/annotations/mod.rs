//! ingress-nginx annotations (`nginx.ingress.kubernetes.io/*`), one feature per module: each
//! reads its annotations into the Ingress's [`Plan`] and says how it was carried over. An
//! annotation no feature knows is reported as not translated, never silently dropped.

mod app_root;
pub mod canary;
mod cors;
mod forwarded_prefix;
pub mod from_to_www;
mod redirects;
pub mod rewrite_target;
mod snippets;
mod ssl_redirect;
mod timeouts;
mod unsupported;
mod upstream_vhost;
pub mod use_regex;

use std::collections::BTreeMap;

use super::output::{Cors, Header, Redirect, Rewrite, Timeouts};
use super::report::Outcome;

/// The prefix of ingress-nginx's annotations.
pub const PREFIX: &str = "nginx.ingress.kubernetes.io/";

/// What an Ingress's annotations ask of its routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Plain-HTTP requests for a TLS host are redirected to HTTPS (ingress-nginx's default);
    /// `false` serves them.
    pub ssl_redirect: Option<bool>,
    /// Redirect plain-HTTP requests to HTTPS even for hosts without TLS.
    pub force_ssl_redirect: bool,
    /// Paths are regular expressions, matched from their start, case-insensitively.
    pub regex_paths: bool,
    /// What every forwarded request's path and host become.
    pub rewrite: Rewrite,
    /// `rewrite-target` as written, for paths to be matched against (see [`rewrite_target`]).
    pub rewrite_target: Option<String>,
    /// Every request is redirected here instead of being forwarded.
    pub redirect: Option<Redirect>,
    /// Requests for `/` are redirected to this path.
    pub app_root: Option<String>,
    /// Headers set on every forwarded request.
    pub request_headers: Vec<Header>,
    /// How long a forwarded request may take.
    pub timeouts: Option<Timeouts>,
    /// A canary Ingress's share of its main Ingress's traffic.
    pub canary: Option<canary::Canary>,
    /// The CORS policy of every route.
    pub cors: Option<Cors>,
    /// Requests for the host with `www.` added or removed are redirected to the host.
    pub from_to_www: bool,
}

/// The annotations of one Ingress, by their name without the prefix.
pub struct Annotations<'a> {
    values: BTreeMap<&'a str, &'a str>,
}

impl<'a> Annotations<'a> {
    /// The ingress-nginx annotations among `all`.
    pub fn of(all: Option<&'a BTreeMap<String, String>>) -> Self {
        let values = all
            .into_iter()
            .flatten()
            .filter_map(|(name, value)| Some((name.strip_prefix(PREFIX)?, value.as_str())))
            .collect();
        Self { values }
    }

    /// The value of annotation `name` (without the prefix).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.values.get(name).copied()
    }

    /// Whether annotation `name` says `"true"`.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// One annotation feature: the annotations it reads, and how it applies them.
struct Feature {
    /// Annotation names (without the prefix).
    names: &'static [&'static str],
    /// Read them into the plan; the outcome is reported under the first name present.
    apply: fn(&Annotations<'_>, &mut Plan) -> Outcome,
}

const FEATURES: &[Feature] = &[
    ssl_redirect::FEATURE,
    use_regex::FEATURE,
    rewrite_target::FEATURE,
    redirects::FEATURE,
    app_root::FEATURE,
    upstream_vhost::FEATURE,
    forwarded_prefix::FEATURE,
    timeouts::FEATURE,
    canary::FEATURE,
    cors::FEATURE,
    from_to_www::FEATURE,
    snippets::FEATURE,
];

/// The plan of an Ingress with `annotations`, and a finding (subject, outcome) per feature
/// used and per annotation no feature knows.
pub fn plan(annotations: &Annotations<'_>) -> (Plan, Vec<(String, Outcome)>) {
    let mut plan = Plan::default();
    let mut findings = Vec::new();
    for feature in FEATURES {
        let present: Vec<&str> = feature
            .names
            .iter()
            .copied()
            .filter(|name| annotations.get(name).is_some())
            .collect();
        if present.is_empty() {
            continue;
        }
        let outcome = (feature.apply)(annotations, &mut plan);
        findings.push((present.join(", "), outcome));
    }
    for name in annotations.values.keys() {
        if !FEATURES.iter().any(|f| f.names.contains(name)) {
            findings.push(((*name).to_string(), unsupported::outcome(name)));
        }
    }
    (plan, findings)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Annotations from `pairs` (names without the prefix).
    pub fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (format!("{PREFIX}{name}"), value.to_string()))
            .collect()
    }

    #[test]
    fn an_annotation_no_feature_knows_is_reported_and_others_are_ignored() {
        let mut all = annotations(&[("limit-rps", "10"), ("ssl-redirect", "false")]);
        all.insert("example.com/other".into(), "x".into());
        let (plan, findings) = super::plan(&Annotations::of(Some(&all)));
        assert_eq!(plan.ssl_redirect, Some(false));
        let subjects: Vec<_> = findings.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(subjects, ["ssl-redirect", "limit-rps"]);
        assert!(matches!(findings[1].1, Outcome::NotPossible(_)));
    }
}
