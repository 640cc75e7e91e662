//! `x-forwarded-prefix`: the backend is told the prefix it is served under, in an
//! `X-Forwarded-Prefix` request header.

use super::{Annotations, Feature, Plan};
use crate::ingress::output::Header;
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["x-forwarded-prefix"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    if let Some(prefix) = annotations.get("x-forwarded-prefix") {
        plan.request_headers.push(Header {
            name: "X-Forwarded-Prefix".to_string(),
            value: prefix.to_string(),
        });
    }
    Outcome::Translated
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn the_prefix_is_sent_as_a_header() {
        let mut plan = Plan::default();
        let all = annotations(&[("x-forwarded-prefix", "/shop")]);
        apply(&Annotations::of(Some(&all)), &mut plan);
        assert_eq!(plan.request_headers[0].name, "X-Forwarded-Prefix");
        assert_eq!(plan.request_headers[0].value, "/shop");
    }
}
