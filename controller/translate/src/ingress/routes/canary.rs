//! Canary Ingresses: their paths merged into the rules of the main Ingress serving the same
//! host and path (see [`crate::ingress::annotations::canary`] for what each annotation means).

use std::collections::HashMap;

use super::{Builder, Claim, PathKey, path_key};
use crate::ingress::annotations::canary::Goes;
use crate::ingress::ingress_ref;
use crate::ingress::output::{BackendRef, HeaderMatch, HttpRoute, Match, PathMatch, Rule};
use crate::ingress::report::{Finding, Outcome};

impl Builder<'_> {
    /// Merge a canary Ingress's paths into the rules of the main Ingress serving them.
    pub(super) fn merge_canary(
        &self,
        routes: &mut [HttpRoute],
        claimed: &HashMap<PathKey, Claim>,
        findings: &mut Vec<Finding>,
    ) {
        let source = ingress_ref(self.ingress);
        let Some(canary) = &self.plan.canary else {
            return;
        };
        for (host, paths) in self.hosts() {
            for path in paths {
                let canary_rule = match self.rule(path) {
                    Ok(rule) => rule,
                    Err(why) => {
                        findings.push(Finding::new(&source, "rules", Outcome::NotPossible(why)));
                        continue;
                    }
                };
                let key = path_key(&host, &canary_rule);
                let Some(claim) = claimed.get(&key) else {
                    findings.push(Finding::new(
                        &source,
                        "canary",
                        Outcome::NotPossible(format!(
                            "no main Ingress serves {} path {}; ingress-nginx ignores such a canary",
                            host.as_deref().unwrap_or("any host"),
                            key.2
                        )),
                    ));
                    continue;
                };
                let rules = &mut routes[claim.route].spec.rules;
                let main = rules[claim.rule].clone();
                let path = &main.matches[0].path;
                let extra: Vec<Rule> = canary
                    .matches
                    .iter()
                    .map(|(header, goes)| {
                        let from = match goes {
                            Goes::Canary => &canary_rule,
                            Goes::Main => &main,
                        };
                        header_rule(path, header, from)
                    })
                    .collect();
                if let Some((weight, total)) = canary.weight {
                    let split = &mut rules[claim.rule].backend_refs;
                    for backend in split.iter_mut() {
                        backend.weight = Some(total - weight);
                    }
                    split.extend(canary_rule.backend_refs.iter().map(|b| BackendRef {
                        weight: Some(weight),
                        ..b.clone()
                    }));
                }
                rules.extend(extra);
                let subject = format!(
                    "canary of {} path {} (merged into Ingress {}'s route)",
                    host.as_deref().unwrap_or("any host"),
                    key.2,
                    claim.owner
                );
                findings.push(Finding::new(&source, subject, Outcome::Translated));
            }
        }
    }
}

/// A copy of `from` matching `path` and `header`.
fn header_rule(path: &PathMatch, header: &HeaderMatch, from: &Rule) -> Rule {
    Rule {
        matches: vec![Match {
            path: path.clone(),
            headers: vec![header.clone()],
        }],
        ..from.clone()
    }
}
