//! `canary` and its `canary-by-header`, `canary-by-header-value`, `canary-by-header-pattern`,
//! `canary-by-cookie`, `canary-weight` and `canary-weight-total`: a canary Ingress names the
//! host and path of a main Ingress and takes part of its traffic. Its rules are merged into the
//! main Ingress's: a header (or cookie) match sends requests to the canary backend with a rule
//! of their own (`never` sends them to the main one), and a weight splits the main rule's
//! backends. ingress-nginx decides by header first, then cookie, then weight; Gateway API
//! ranks a rule with header matches above one without, which keeps that order.

use super::{Annotations, Feature, Plan};
use crate::ingress::output::{HeaderMatch, HeaderMatchKind};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &[
        "canary",
        "canary-by-header",
        "canary-by-header-value",
        "canary-by-header-pattern",
        "canary-by-cookie",
        "canary-weight",
        "canary-weight-total",
    ],
    apply,
};

/// Which backend a canary header match sends a request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goes {
    /// The canary Ingress's.
    Canary,
    /// The main Ingress's, whatever the weight.
    Main,
}

/// How a canary Ingress takes its share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Canary {
    /// Header matches in ingress-nginx's order (the header's before the cookie's), each with
    /// where it sends a request.
    pub matches: Vec<(HeaderMatch, Goes)>,
    /// The canary's share of the rest: (weight, total).
    pub weight: Option<(u32, u32)>,
}

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    if !annotations.is_true("canary") {
        return Outcome::NotPossible("canary-* annotations without `canary: \"true\"`".into());
    }
    let mut canary = Canary::default();
    let mut approximated = None;
    if let Some(header) = annotations.get("canary-by-header") {
        let exact = |value: &str| HeaderMatch {
            kind: HeaderMatchKind::Exact,
            name: header.to_string(),
            value: value.to_string(),
        };
        if let Some(value) = annotations.get("canary-by-header-value") {
            canary.matches.push((exact(value), Goes::Canary));
        } else if let Some(pattern) = annotations.get("canary-by-header-pattern") {
            // ingress-nginx searches the value for the pattern; Gateway API matches it whole.
            let search = HeaderMatch {
                kind: HeaderMatchKind::RegularExpression,
                name: header.to_string(),
                value: format!(".*(?:{pattern}).*"),
            };
            canary.matches.push((search, Goes::Canary));
        } else {
            canary.matches.push((exact("always"), Goes::Canary));
            canary.matches.push((exact("never"), Goes::Main));
        }
    }
    if let Some(cookie) = annotations.get("canary-by-cookie") {
        let value = |v: &str| HeaderMatch {
            kind: HeaderMatchKind::RegularExpression,
            name: "Cookie".to_string(),
            value: format!("(.*; *)?{}={v}(;.*)?", regex_escape(cookie)),
        };
        canary.matches.push((value("always"), Goes::Canary));
        canary.matches.push((value("never"), Goes::Main));
        approximated = Some(
            "the cookie is matched by a regular expression over the Cookie header".to_string(),
        );
    }
    if let Some(weight) = annotations.get("canary-weight") {
        let total = annotations.get("canary-weight-total").unwrap_or("100");
        match (weight.parse::<u32>(), total.parse::<u32>()) {
            (Ok(weight), Ok(total)) if weight <= total && total > 0 => {
                canary.weight = Some((weight, total));
            }
            _ => {
                // Still a canary (never a main Ingress), without the weight.
                plan.canary = Some(canary);
                return Outcome::NotPossible(format!(
                    "canary-weight {weight:?} of {total:?} is not a share"
                ));
            }
        }
    }
    plan.canary = Some(canary);
    approximated.map_or(Outcome::Translated, Outcome::Approximated)
}

/// `text` with the regular-expression syntax in it escaped.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    fn canary(pairs: &[(&str, &str)]) -> (Option<Canary>, Outcome) {
        let all = annotations(pairs);
        let mut plan = Plan::default();
        let outcome = apply(&Annotations::of(Some(&all)), &mut plan);
        (plan.canary, outcome)
    }

    #[test]
    fn a_header_alone_means_always_and_never_and_a_value_or_pattern_replaces_them() {
        let (plan, _) = canary(&[("canary", "true"), ("canary-by-header", "X-Canary")]);
        let plan = plan.expect("a canary");
        assert_eq!(plan.matches[0].0.value, "always");
        assert_eq!(plan.matches[0].1, Goes::Canary);
        assert_eq!(
            (plan.matches[1].0.value.as_str(), plan.matches[1].1),
            ("never", Goes::Main)
        );
        let (plan, _) = canary(&[
            ("canary", "true"),
            ("canary-by-header", "X-Canary"),
            ("canary-by-header-value", "beta"),
        ]);
        let plan = plan.expect("a canary");
        assert_eq!(plan.matches.len(), 1);
        assert_eq!(plan.matches[0].0.value, "beta");
    }

    #[test]
    fn weights_are_shares_of_the_total_and_a_cookie_is_approximated() {
        let (plan, outcome) = canary(&[
            ("canary", "true"),
            ("canary-weight", "20"),
            ("canary-weight-total", "50"),
        ]);
        assert_eq!(outcome, Outcome::Translated);
        assert_eq!(plan.expect("a canary").weight, Some((20, 50)));
        let (plan, outcome) = canary(&[("canary", "true"), ("canary-weight", "120")]);
        assert!(matches!(outcome, Outcome::NotPossible(_)));
        assert!(
            plan.is_some(),
            "an invalid weight keeps the Ingress a canary"
        );
        let (plan, outcome) = canary(&[("canary", "true"), ("canary-by-cookie", "beta.user")]);
        assert!(matches!(outcome, Outcome::Approximated(_)));
        assert_eq!(
            plan.expect("a canary").matches[0].0.value,
            "(.*; *)?beta\\.user=always(;.*)?"
        );
        let (_, outcome) = canary(&[("canary-weight", "10")]);
        assert!(matches!(outcome, Outcome::NotPossible(_)));
    }
}
