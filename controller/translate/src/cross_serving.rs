//! HTTPRoutes and GRPCRoutes sharing a listener. When routes of the two kinds attached to one
//! listener share a hostname, the Gateway API accepts exactly one of them: the older, then the
//! first by `namespace/name`. The other is detached from that listener; a parentRef of it that
//! is left with no listener reads `Accepted=False` (`Conflicted`), naming the route it lost to.

use portico_snapshot::{ListenerKey, ObjectRef};

use crate::attach::KindOutput;
use crate::conditions::{Problem, outcome, reasons, types};
use crate::hostnames;
use crate::names::{Age, RouteKind};

/// One route attached to a listener, whatever its kind.
struct Claim<'a> {
    age: &'a Age,
    route: &'a ObjectRef,
    kind: RouteKind,
    hostnames: &'a [String],
}

/// A route that lost a listener, and to which route.
struct Loss {
    kind: RouteKind,
    route: ObjectRef,
    listener: ListenerKey,
    winner: String,
}

/// Detach the losers of every HTTPRoute/GRPCRoute conflict and report them in their statuses.
pub(crate) fn resolve<H, G>(http: &mut KindOutput<H>, grpc: &mut KindOutput<G>) {
    let mut losses = Vec::new();
    for (listener, grpc_routes) in grpc.attachments.by_listener() {
        let Some(http_routes) = http
            .attachments
            .by_listener()
            .find(|(key, _)| *key == listener)
        else {
            continue;
        };
        let mut claims: Vec<Claim<'_>> = http_routes
            .1
            .iter()
            .map(|a| Claim {
                age: &a.age,
                route: &a.route,
                kind: RouteKind::Http,
                hostnames: &a.hostnames,
            })
            .chain(grpc_routes.iter().map(|a| Claim {
                age: &a.age,
                route: &a.route,
                kind: RouteKind::Grpc,
                hostnames: &a.hostnames,
            }))
            .collect();
        claims.sort_by(|a, b| a.age.cmp(b.age));
        let mut kept: Vec<&Claim<'_>> = Vec::new();
        for claim in &claims {
            let winner = kept
                .iter()
                .find(|k| k.kind != claim.kind && overlap(k.hostnames, claim.hostnames));
            match winner {
                Some(winner) => losses.push(Loss {
                    kind: claim.kind,
                    route: claim.route.clone(),
                    listener: listener.clone(),
                    winner: format!("{} {}", winner.kind, winner.route),
                }),
                None => kept.push(claim),
            }
        }
    }
    for loss in losses {
        match loss.kind {
            RouteKind::Grpc => refuse(grpc, &loss),
            _ => refuse(http, &loss),
        }
    }
}

/// Whether two routes' hostnames on one listener share a name (none means any).
fn overlap(a: &[String], b: &[String]) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.iter()
            .any(|host| hostnames::intersect(Some(host), b).is_some())
}

/// Detach the loser and mark the parents it attached only through lost listeners.
fn refuse<R>(output: &mut KindOutput<R>, loss: &Loss) {
    output.attachments.detach(&loss.listener, &loss.route);
    let Some(by_parent) = output.parent_listeners.get_mut(&loss.route) else {
        return;
    };
    let Some(status) = output.statuses.iter_mut().find(|s| s.object == loss.route) else {
        return;
    };
    for (listeners, parent) in by_parent.iter_mut().zip(&mut status.status.parents) {
        let before = listeners.len();
        listeners.retain(|l| *l != loss.listener);
        if before == 0 || !listeners.is_empty() {
            continue;
        }
        let problem = Problem::new(
            reasons::CONFLICTED,
            format!(
                "{} is older and serves the same hostname on listener {}: HTTPRoutes and \
                 GRPCRoutes may not share a hostname on a listener",
                loss.winner, loss.listener
            ),
        );
        for condition in parent
            .conditions
            .iter_mut()
            .filter(|c| c.type_ == types::ACCEPTED)
        {
            let generation = condition.observed_generation;
            *condition = outcome(
                types::ACCEPTED,
                Some(&problem),
                reasons::ACCEPTED,
                "",
                generation,
            );
        }
    }
}
