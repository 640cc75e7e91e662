//! `proxy-connect-timeout`, `proxy-send-timeout` and `proxy-read-timeout` (seconds; nginx's
//! defaults 5, 60 and 60): nginx bounds each connect, write and read with them, Gateway API
//! bounds the whole backend exchange (`timeouts.backendRequest`). The rule gets their sum,
//! which never cuts an exchange nginx would have let finish in one read, but lets a slow
//! backend take longer overall: an approximation, and reported as one.

use super::{Annotations, Feature, Plan};
use crate::ingress::output::Timeouts;
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &[
        "proxy-connect-timeout",
        "proxy-send-timeout",
        "proxy-read-timeout",
    ],
    apply,
};

/// nginx's defaults, in seconds.
const DEFAULTS: [u64; 3] = [5, 60, 60];

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    let mut total = 0u64;
    for (name, default) in FEATURE.names.iter().zip(DEFAULTS) {
        let seconds = match annotations.get(name).map(seconds) {
            None => default,
            Some(Some(seconds)) => seconds,
            Some(None) => {
                return Outcome::NotPossible(format!("{name} is not a number of seconds"));
            }
        };
        total = total.saturating_add(seconds);
    }
    plan.timeouts = Some(Timeouts {
        backend_request: Some(format!("{total}s")),
    });
    Outcome::Approximated(format!(
        "timeouts.backendRequest {total}s bounds the whole backend exchange; nginx bounds each \
         connect, write and read"
    ))
}

/// `30` or `30s` as seconds.
fn seconds(value: &str) -> Option<u64> {
    value.strip_suffix('s').unwrap_or(value).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    #[test]
    fn the_timeouts_add_up_with_nginx_defaults_for_those_not_given() {
        let mut plan = Plan::default();
        let all = annotations(&[("proxy-read-timeout", "600s")]);
        let outcome = apply(&Annotations::of(Some(&all)), &mut plan);
        assert!(matches!(outcome, Outcome::Approximated(_)));
        let timeouts = plan.timeouts.expect("timeouts");
        assert_eq!(timeouts.backend_request.as_deref(), Some("665s"));
        let all = annotations(&[("proxy-connect-timeout", "soon")]);
        let outcome = apply(&Annotations::of(Some(&all)), &mut Plan::default());
        assert!(matches!(outcome, Outcome::NotPossible(_)));
    }
}
