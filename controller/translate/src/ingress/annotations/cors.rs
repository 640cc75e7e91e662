//! `enable-cors` and `cors-allow-origin`, `-methods`, `-headers`, `-credentials`,
//! `cors-expose-headers` and `cors-max-age`: a CORS filter on every rule, with ingress-nginx's
//! defaults for what is not given (any origin, credentials allowed, a 20-day max age).

use super::{Annotations, Feature, Plan};
use crate::ingress::output::Cors;
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &[
        "enable-cors",
        "cors-allow-origin",
        "cors-allow-methods",
        "cors-allow-headers",
        "cors-expose-headers",
        "cors-allow-credentials",
        "cors-max-age",
    ],
    apply,
};

const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS: &str = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,\
                               Cache-Control,Content-Type,Range,Authorization";
const DEFAULT_MAX_AGE: u32 = 1_728_000;

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    if !annotations.is_true("enable-cors") {
        return Outcome::NotPossible("cors-* annotations without `enable-cors: \"true\"`".into());
    }
    let list = |name: &str, default: &str| -> Vec<String> {
        annotations
            .get(name)
            .unwrap_or(default)
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect()
    };
    let max_age = match annotations.get("cors-max-age").map(str::parse::<u32>) {
        None => DEFAULT_MAX_AGE,
        Some(Ok(seconds)) => seconds,
        Some(Err(_)) => {
            return Outcome::NotPossible("cors-max-age is not a number of seconds".into());
        }
    };
    let allow_origins = list("cors-allow-origin", "*");
    let credentials = !annotations
        .get("cors-allow-credentials")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    // ingress-nginx answers a literal `*`, which browsers refuse for credentialed requests;
    // Gateway API echoes the origin instead, which would let every site send credentials.
    let any_origin = allow_origins.iter().any(|o| o == "*");
    plan.cors = Some(Cors {
        allow_origins,
        allow_methods: list("cors-allow-methods", DEFAULT_METHODS)
            .into_iter()
            .map(|m| m.to_ascii_uppercase())
            .collect(),
        allow_headers: list("cors-allow-headers", DEFAULT_HEADERS),
        expose_headers: list("cors-expose-headers", ""),
        allow_credentials: credentials && !any_origin,
        max_age: max_age.max(1),
    });
    if credentials && any_origin {
        Outcome::Approximated(
            "credentials are not allowed for any origin (`*`): browsers refused them from \
             ingress-nginx's literal `*`, and a Gateway would echo each origin instead"
                .into(),
        )
    } else {
        Outcome::Translated
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn lists_are_split_and_ingress_nginx_defaults_fill_the_rest() {
        let mut plan = Plan::default();
        let all = annotations(&[
            ("enable-cors", "true"),
            (
                "cors-allow-origin",
                "https://a.example, https://*.b.example",
            ),
            ("cors-allow-credentials", "false"),
        ]);
        assert_eq!(
            apply(&Annotations::of(Some(&all)), &mut plan),
            Outcome::Translated
        );
        let cors = plan.cors.expect("a policy");
        assert_eq!(
            cors.allow_origins,
            ["https://a.example", "https://*.b.example"]
        );
        assert_eq!(cors.allow_methods.len(), 6);
        assert!(!cors.allow_credentials);
        assert_eq!(cors.max_age, DEFAULT_MAX_AGE);
        // Any origin with credentials would be wider than ingress-nginx's literal `*`.
        let mut plan = Plan::default();
        let all = annotations(&[("enable-cors", "true")]);
        let outcome = apply(&Annotations::of(Some(&all)), &mut plan);
        assert!(matches!(outcome, Outcome::Approximated(_)));
        assert!(!plan.cors.expect("a policy").allow_credentials);
        let all = annotations(&[("cors-allow-origin", "https://a.example")]);
        let outcome = apply(&Annotations::of(Some(&all)), &mut Plan::default());
        assert!(matches!(outcome, Outcome::NotPossible(_)));
    }
}
