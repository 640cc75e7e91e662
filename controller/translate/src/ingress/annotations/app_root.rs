//! `app-root`: a request for `/` is redirected (302) to the application's root path, as
//! ingress-nginx does; every other path is served as usual.

use super::{Annotations, Feature, Plan};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["app-root"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    match annotations.get("app-root") {
        Some(root) if root.starts_with('/') => {
            plan.app_root = Some(root.to_string());
            Outcome::Translated
        }
        other => Outcome::NotPossible(format!("app-root {other:?} is not a path")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn a_path_is_taken_and_anything_else_refused() {
        let mut plan = Plan::default();
        let all = annotations(&[("app-root", "/app1")]);
        assert_eq!(
            apply(&Annotations::of(Some(&all)), &mut plan),
            Outcome::Translated
        );
        assert_eq!(plan.app_root.as_deref(), Some("/app1"));
        let all = annotations(&[("app-root", "app1")]);
        let outcome = apply(&Annotations::of(Some(&all)), &mut Plan::default());
        assert!(matches!(outcome, Outcome::NotPossible(_)));
    }
}
