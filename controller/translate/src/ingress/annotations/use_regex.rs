//! `use-regex`: the Ingress's paths are regular expressions. ingress-nginx matches them from
//! the start of the path, case-insensitively (`location ~* "^path"`); the routes match
//! `(?i)(?:path).*` over the whole path, which is the same.

use super::{Annotations, Feature, Plan};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["use-regex"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    if annotations.is_true("use-regex") {
        plan.regex_paths = true;
    }
    Outcome::Translated
}

/// A path of an Ingress whose paths are regular expressions, as a whole-path expression.
pub fn whole_path_expression(path: &str) -> String {
    format!("(?i)(?:{path}).*")
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn paths_become_case_insensitive_expressions_anchored_at_the_start() {
        let mut plan = Plan::default();
        apply(
            &Annotations::of(Some(&annotations(&[("use-regex", "true")]))),
            &mut plan,
        );
        assert!(plan.regex_paths);
        assert_eq!(whole_path_expression("/a|/b"), "(?i)(?:/a|/b).*");
    }
}
