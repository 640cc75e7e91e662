//! `configuration-snippet`, `server-snippet` and the other raw-nginx annotations: nginx
//! configuration pasted into ingress-nginx's, which no Gateway API object can hold. They are
//! reported for a person to read and carry over by hand, never dropped silently.

use super::{Annotations, Feature, Plan};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &[
        "configuration-snippet",
        "server-snippet",
        "auth-snippet",
        "stream-snippet",
    ],
    apply,
};

fn apply(_: &Annotations<'_>, _: &mut Plan) -> Outcome {
    Outcome::NotPossible(
        "raw nginx configuration has no Gateway API equivalent; carry it over by hand".into(),
    )
}
