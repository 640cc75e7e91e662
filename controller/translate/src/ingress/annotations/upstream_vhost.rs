//! `upstream-vhost`: the `Host` header sent to the backend, a URLRewrite of the hostname.

use super::{Annotations, Feature, Plan};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["upstream-vhost"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    plan.rewrite.hostname = annotations.get("upstream-vhost").map(str::to_string);
    Outcome::Translated
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn the_host_is_rewritten() {
        let mut plan = Plan::default();
        let all = annotations(&[("upstream-vhost", "internal.example")]);
        apply(&Annotations::of(Some(&all)), &mut plan);
        assert_eq!(plan.rewrite.hostname.as_deref(), Some("internal.example"));
    }
}
