//! What changed between a status the API server holds and the one wanted: status entries
//! shared with other controllers compared regardless of order, and the conditions that turned
//! bad (which become Warning Events).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use portico_translate::conditions::{reasons, types};
use portico_translate::route_kinds::RouteStatus;
use serde::Serialize;

/// Route parents compared regardless of order, so another controller that orders the list
/// differently does not make the two rewrite it in turn.
pub fn same_parents(a: &RouteStatus, b: &RouteStatus) -> bool {
    same_entries(&a.parents, &b.parents)
}

/// Whether two lists of status entries (route parents, policy ancestors) hold the same entries
/// in any order.
pub fn same_entries<T: Serialize>(a: &[T], b: &[T]) -> bool {
    let key = |entry: &T| serde_json::to_string(entry).unwrap_or_default();
    let mut left: Vec<_> = a.iter().map(key).collect();
    let mut right: Vec<_> = b.iter().map(key).collect();
    left.sort();
    right.sort();
    left == right
}

/// Conditions of `now` that are bad and were not bad with that status `before`: rejected
/// (Accepted, ResolvedRefs or Programmed False, except while Pending) or Conflicted. Returns
/// (reason, note) pairs, the note prefixed with `prefix`.
pub fn newly_bad(
    now: Option<&[Condition]>,
    before: Option<&[Condition]>,
    prefix: &str,
) -> Vec<(String, String)> {
    let bad = |c: &Condition| match c.type_.as_str() {
        types::CONFLICTED => c.status == "True",
        _ => c.status == "False" && c.reason != reasons::PENDING,
    };
    now.unwrap_or_default()
        .iter()
        .filter(|c| bad(c))
        .filter(|c| {
            !before
                .unwrap_or_default()
                .iter()
                .any(|b| b.type_ == c.type_ && b.status == c.status && b.reason == c.reason)
        })
        .map(|c| {
            (
                c.reason.clone(),
                format!("{prefix}{} {}: {}", c.type_, c.status, c.message),
            )
        })
        .collect()
}
