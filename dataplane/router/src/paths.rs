//! Path lookup: exact paths and path prefixes, each a hash map from path to candidates.
//!
//! A request path is looked up exactly once, then once per prefix length the table holds,
//! longest first, where that length ends a `/`-separated segment of the path. The work per
//! request is one hash of the path plus a bounded number of probes set by the table, never by
//! the request: a long path made of many segments costs no more than its length. Candidates
//! under one key are kept in precedence order (more header matches first, then the order they
//! were added in), so the first whose headers match wins.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};

/// One way to reach an action: the path it was filed under plus header conditions.
#[derive(Debug, Clone)]
pub struct Candidate<A> {
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Order of insertion; earlier means older route or earlier rule.
    order: usize,
    action: A,
}

impl<A> Candidate<A> {
    fn matches(&self, headers: &HeaderMap) -> bool {
        self.headers
            .iter()
            .all(|(name, value)| headers.get_all(name).iter().any(|v| v == value))
    }
}

/// Path tables for one hostname.
#[derive(Debug, Clone)]
pub struct PathTable<A> {
    exact: HashMap<String, Vec<Candidate<A>>>,
    prefix: HashMap<String, Vec<Candidate<A>>>,
    /// Distinct lengths of the keys in `prefix`, longest first.
    prefix_lengths: Vec<usize>,
    inserted: usize,
}

impl<A> Default for PathTable<A> {
    fn default() -> Self {
        Self {
            exact: HashMap::new(),
            prefix: HashMap::new(),
            prefix_lengths: Vec::new(),
            inserted: 0,
        }
    }
}

/// How a path is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Equal to the whole path.
    Exact,
    /// A `/`-bounded prefix.
    Prefix,
}

impl<A> PathTable<A> {
    /// Add a candidate. Call in precedence order of route age and rule order; header count is
    /// taken into account here.
    pub fn insert(
        &mut self,
        kind: PathKind,
        path: &str,
        headers: Vec<(HeaderName, HeaderValue)>,
        action: A,
    ) {
        let (map, key) = match kind {
            PathKind::Exact => (&mut self.exact, path.to_string()),
            PathKind::Prefix => {
                let key = trim_trailing_slash(path);
                if let Err(at) = self
                    .prefix_lengths
                    .binary_search_by(|held| key.len().cmp(held))
                {
                    self.prefix_lengths.insert(at, key.len());
                }
                (&mut self.prefix, key.to_string())
            }
        };
        let list = map.entry(key).or_default();
        list.push(Candidate {
            headers,
            order: self.inserted,
            action,
        });
        list.sort_by_key(|c| (std::cmp::Reverse(c.headers.len()), c.order));
        self.inserted += 1;
    }

    /// The best action for `path` (without query) and `headers`.
    pub fn lookup(&self, path: &str, headers: &HeaderMap) -> Option<&A> {
        if let Some(action) = first_match(self.exact.get(path), headers) {
            return Some(action);
        }
        let path = trim_trailing_slash(path);
        self.prefix_lengths
            .iter()
            .filter_map(|&length| segment_prefix(path, length))
            .find_map(|prefix| first_match(self.prefix.get(prefix), headers))
    }
}

/// The first `length` bytes of `path` when they end at a segment boundary: the whole path,
/// a prefix followed by `/`, or the root `/` itself.
fn segment_prefix(path: &str, length: usize) -> Option<&str> {
    let prefix = path.get(..length)?;
    let bounded = length == path.len() || path.as_bytes().get(length) == Some(&b'/');
    (bounded || prefix == "/").then_some(prefix)
}

fn first_match<'a, A>(list: Option<&'a Vec<Candidate<A>>>, headers: &HeaderMap) -> Option<&'a A> {
    list.and_then(|l| l.iter().find(|c| c.matches(headers)))
        .map(|c| &c.action)
}

fn trim_trailing_slash(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" if path.starts_with('/') => "/",
        trimmed if path.len() > 1 => trimmed,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
        (
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    }

    fn table() -> PathTable<&'static str> {
        let mut t = PathTable::default();
        t.insert(PathKind::Prefix, "/", vec![], "root");
        t.insert(PathKind::Prefix, "/api", vec![], "api");
        t.insert(PathKind::Prefix, "/api/v2/", vec![], "v2");
        t.insert(PathKind::Exact, "/api/exact", vec![], "exact");
        t.insert(
            PathKind::Prefix,
            "/api",
            vec![header("version", "2")],
            "api-v2-header",
        );
        t
    }

    fn get(path: &str, headers: &HeaderMap) -> Option<&'static str> {
        table().lookup(path, headers).copied()
    }

    #[test]
    fn prefixes_match_on_segment_boundaries_longest_first() {
        let none = HeaderMap::new();
        assert_eq!(get("/api", &none), Some("api"));
        assert_eq!(get("/api/", &none), Some("api"));
        assert_eq!(get("/api/v1/x", &none), Some("api"));
        assert_eq!(get("/api/v2", &none), Some("v2"));
        assert_eq!(get("/api/v2/users", &none), Some("v2"));
        assert_eq!(get("/apiary", &none), Some("root"));
        assert_eq!(get("/", &none), Some("root"));
        assert_eq!(get("//", &none), Some("root"));
        assert_eq!(get("/api//", &none), Some("api"));
    }

    #[test]
    fn deep_paths_match_their_longest_held_prefix() {
        let none = HeaderMap::new();
        let deep = format!("/api/v2{}", "/a".repeat(5000));
        assert_eq!(get(&deep, &none), Some("v2"));
        assert_eq!(
            get(&format!("/api/v2x{}", "/a".repeat(5000)), &none),
            Some("api")
        );
        assert_eq!(get(&"/".repeat(5000), &none), Some("root"));
    }

    #[test]
    fn exact_beats_prefix() {
        let none = HeaderMap::new();
        assert_eq!(get("/api/exact", &none), Some("exact"));
        assert_eq!(get("/api/exact/more", &none), Some("api"));
    }

    #[test]
    fn more_header_matches_win_over_insertion_order() {
        let mut headers = HeaderMap::new();
        headers.insert("version", HeaderValue::from_static("2"));
        assert_eq!(get("/api/x", &headers), Some("api-v2-header"));
        headers.insert("version", HeaderValue::from_static("3"));
        assert_eq!(get("/api/x", &headers), Some("api"));
    }

    #[test]
    fn no_match_without_a_root_prefix() {
        let mut t = PathTable::default();
        t.insert(PathKind::Exact, "/only", vec![], 1);
        assert_eq!(t.lookup("/other", &HeaderMap::new()), None);
        assert_eq!(t.lookup("/only", &HeaderMap::new()), Some(&1));
    }
}
