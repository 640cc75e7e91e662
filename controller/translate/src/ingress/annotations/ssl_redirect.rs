//! `ssl-redirect` and `force-ssl-redirect`: whether plain-HTTP requests for a host are
//! redirected to HTTPS (308, as ingress-nginx answers). ingress-nginx redirects hosts with TLS
//! unless `ssl-redirect: "false"`; `force-ssl-redirect` redirects hosts without TLS too.

use super::{Annotations, Feature, Plan};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["ssl-redirect", "force-ssl-redirect"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    if let Some(value) = annotations.get("ssl-redirect") {
        plan.ssl_redirect = Some(!value.eq_ignore_ascii_case("false"));
    }
    plan.force_ssl_redirect = annotations.is_true("force-ssl-redirect");
    Outcome::Translated
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn false_turns_the_redirect_off_and_force_turns_it_on_everywhere() {
        let all = annotations(&[("ssl-redirect", "false"), ("force-ssl-redirect", "true")]);
        let mut plan = Plan::default();
        assert_eq!(
            apply(&Annotations::of(Some(&all)), &mut plan),
            Outcome::Translated
        );
        assert_eq!(plan.ssl_redirect, Some(false));
        assert!(plan.force_ssl_redirect);
    }
}
