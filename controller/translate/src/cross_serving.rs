//! HTTPRoutes and GRPCRoutes sharing a listener. When routes of the two kinds attached to one
//! listener share a hostname, the Gateway API accepts exactly one of them: the older, then the
//! first by `namespace/name`. The other loses the parentRef that brought it there: its status
//! entry for that parent reads `Accepted=False` (`Conflicted`, naming the route it lost to)
//! and it is detached from every listener that parentRef selected.
//!
//! Listeners are settled in the order of their keys, so the outcome and its message are the
//! same on every translation of the same objects.

use std::collections::BTreeMap;

use portico_snapshot::{ListenerKey, ObjectRef};

use crate::attach::{Attached, KindOutput};
use crate::conditions::{Problem, outcome, reasons, types};
use crate::hostnames;
use crate::names::{Age, RouteKind};

/// The two kinds that may conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Http,
    Grpc,
}

impl Side {
    const fn kind(self) -> RouteKind {
        match self {
            Self::Http => RouteKind::Http,
            Self::Grpc => RouteKind::Grpc,
        }
    }
}

/// One route attached to a listener, whatever its kind.
struct Claim<'a> {
    age: &'a Age,
    route: &'a ObjectRef,
    side: Side,
    hostnames: &'a [String],
}

/// A route that lost a listener, and to which route.
struct Loss {
    side: Side,
    route: ObjectRef,
    listener: ListenerKey,
    winner: String,
}

/// Detach the losers of every HTTPRoute/GRPCRoute conflict and report them in their statuses.
pub(crate) fn resolve<H, G>(http: &mut KindOutput<H>, grpc: &mut KindOutput<G>) {
    let http_by_listener: BTreeMap<_, _> = http.attachments.by_listener().collect();
    let shared: BTreeMap<_, _> = grpc
        .attachments
        .by_listener()
        .filter_map(|(key, routes)| Some((key, (*http_by_listener.get(key)?, routes))))
        .collect();
    let mut losses = Vec::new();
    for (listener, (http_routes, grpc_routes)) in shared {
        let mut claims: Vec<Claim<'_>> = claims(http_routes, Side::Http)
            .chain(claims(grpc_routes, Side::Grpc))
            .collect();
        claims.sort_by(|a, b| a.age.cmp(b.age));
        let mut kept: Vec<&Claim<'_>> = Vec::new();
        for claim in &claims {
            let winner = kept
                .iter()
                .find(|k| k.side != claim.side && overlap(k.hostnames, claim.hostnames));
            match winner {
                Some(winner) => losses.push(Loss {
                    side: claim.side,
                    route: claim.route.clone(),
                    listener: listener.clone(),
                    winner: format!("{} {}", winner.side.kind(), winner.route),
                }),
                None => kept.push(claim),
            }
        }
    }
    for loss in &losses {
        match loss.side {
            Side::Http => refuse(http, loss),
            Side::Grpc => refuse(grpc, loss),
        }
    }
}

fn claims<R>(routes: &[Attached<R>], side: Side) -> impl Iterator<Item = Claim<'_>> {
    routes.iter().map(move |a| Claim {
        age: &a.age,
        route: &a.route,
        side,
        hostnames: &a.hostnames,
    })
}

/// Whether two routes' hostnames on one listener share a name (none means any).
fn overlap(a: &[String], b: &[String]) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.iter()
            .any(|host| hostnames::intersect(Some(host), b).is_some())
}

/// Refuse the loser's parents that selected the lost listener: `Accepted=False`, and detached
/// from their listeners (those another, still accepted parent of the route selects stay).
fn refuse<R>(output: &mut KindOutput<R>, loss: &Loss) {
    let Some(by_parent) = output.parent_listeners.get_mut(&loss.route) else {
        return;
    };
    let Some(status) = output.statuses.iter_mut().find(|s| s.object == loss.route) else {
        return;
    };
    let problem = Problem::new(
        reasons::CONFLICTED,
        format!(
            "{} is older and serves the same hostname on listener {}: HTTPRoutes and GRPCRoutes \
             may not share a hostname on a listener",
            loss.winner, loss.listener
        ),
    );
    let mut released = Vec::new();
    for (listeners, parent) in by_parent.iter_mut().zip(&mut status.status.parents) {
        if !listeners.contains(&loss.listener) {
            continue;
        }
        released.append(listeners);
        for condition in parent
            .conditions
            .iter_mut()
            .filter(|c| c.type_ == types::ACCEPTED)
        {
            let generation = condition.observed_generation;
            *condition = outcome(types::ACCEPTED, Some(&problem), "", "", generation);
        }
    }
    for listener in released {
        if !by_parent.iter().any(|kept| kept.contains(&listener)) {
            output.attachments.detach(&listener, &loss.route);
        }
    }
}
