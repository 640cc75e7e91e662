//! Path lookup: exact paths and path prefixes, each a hash map from path to candidates, and
//! regular expressions, compiled into one set.
//!
//! A request path is looked up exactly once; then, if the table has regular expressions, run
//! once through their set (one linear-time pass, whatever their number); then once per prefix
//! length the table holds, longest first, where that length ends a `/`-separated segment of the
//! path. The work per request is bounded by the table, never by the request: a long path made
//! of many segments costs no more than its length. Candidates under one key are kept in
//! precedence order (method, then more header matches, then more query parameter matches, then
//! the order they were added in), so the first whose conditions hold wins.

use std::collections::HashMap;

use regex::RegexSet;

use crate::conditions::{Conditions, RequestParts, Specificity};

/// One way to reach an action: the path it was filed under plus other conditions.
#[derive(Debug, Clone)]
pub struct Candidate<A> {
    conditions: Conditions,
    /// Order of insertion; earlier means older route or earlier rule.
    order: usize,
    action: A,
}

impl<A> Candidate<A> {
    fn rank(&self) -> (Specificity, usize) {
        (self.conditions.specificity(), self.order)
    }
}

/// Path tables for one hostname.
#[derive(Debug, Clone)]
pub struct PathTable<A> {
    exact: HashMap<String, Vec<Candidate<A>>>,
    prefix: HashMap<String, Vec<Candidate<A>>>,
    /// Distinct lengths of the keys in `prefix`, longest first.
    prefix_lengths: Vec<usize>,
    /// Regular expressions with their candidates, in order of first insertion.
    regexes: Vec<(String, Vec<Candidate<A>>)>,
    /// Where each expression sits in `regexes`, so adding one costs no scan of the others.
    regex_index: HashMap<String, usize>,
    /// All of `regexes`, matched in one pass; built by [`PathTable::seal`].
    regex_set: Option<RegexSet>,
    inserted: usize,
}

impl<A> Default for PathTable<A> {
    fn default() -> Self {
        Self {
            exact: HashMap::new(),
            prefix: HashMap::new(),
            prefix_lengths: Vec::new(),
            regexes: Vec::new(),
            regex_index: HashMap::new(),
            regex_set: None,
            inserted: 0,
        }
    }
}

/// How a path is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    /// Equal to the whole path.
    Exact,
    /// A `/`-bounded prefix.
    Prefix,
    /// The whole path matches this expression (the pattern as written, unanchored).
    Regex,
}

/// A successful lookup: the action, and the prefix that matched when it was a prefix match.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a, A> {
    /// The winning candidate's action.
    pub action: &'a A,
    /// The matched prefix, without a trailing `/` (except the root, `/`).
    pub prefix: Option<&'a str>,
}

/// A regular expression that does not compile (within the size limit).
#[derive(Debug, Clone)]
pub struct InvalidRegex(pub String);

impl<A> PathTable<A> {
    /// Add a candidate. Call in precedence order of route age and rule order; the conditions'
    /// specificity is taken into account here.
    pub fn insert(&mut self, kind: PathKind, path: &str, conditions: Conditions, action: A) {
        let candidate = Candidate {
            conditions,
            order: self.inserted,
            action,
        };
        self.inserted += 1;
        let list = match kind {
            PathKind::Exact => self.exact.entry(path.to_string()).or_default(),
            PathKind::Prefix => {
                let key = trim_trailing_slash(path);
                if let Err(at) = self
                    .prefix_lengths
                    .binary_search_by(|held| key.len().cmp(held))
                {
                    self.prefix_lengths.insert(at, key.len());
                }
                self.prefix.entry(key.to_string()).or_default()
            }
            PathKind::Regex => {
                self.regex_set = None;
                let next = self.regexes.len();
                let at = *self.regex_index.entry(path.to_string()).or_insert(next);
                if at == next {
                    self.regexes.push((path.to_string(), Vec::new()));
                }
                match self.regexes.get_mut(at) {
                    Some((_, list)) => list,
                    None => return,
                }
            }
        };
        list.push(candidate);
        list.sort_by_key(Candidate::rank);
    }

    /// Compile the regular expressions inserted so far into one set. Call once all candidates
    /// are in; until then, regular expression candidates never match.
    pub fn seal(&mut self) -> Result<(), InvalidRegex> {
        if self.regexes.is_empty() {
            return Ok(());
        }
        let anchored = self.regexes.iter().map(|(p, _)| format!("^(?:{p})$"));
        let set = regex::RegexSetBuilder::new(anchored)
            .size_limit(
                portico_snapshot::RegexPattern::SIZE_LIMIT.saturating_mul(self.regexes.len()),
            )
            .build()
            .map_err(|e| InvalidRegex(e.to_string()))?;
        self.regex_set = Some(set);
        Ok(())
    }

    /// The best action for `path` (normalised, without query) and the request's other parts.
    pub fn lookup(&self, path: &str, request: &RequestParts<'_>) -> Option<Found<'_, A>> {
        if let Some(action) = first_met(self.exact.get(path), request) {
            return Some(Found {
                action: &action.action,
                prefix: None,
            });
        }
        if let Some(found) = self.lookup_regex(path, request) {
            return Some(found);
        }
        let path = trim_trailing_slash(path);
        self.prefix_lengths
            .iter()
            .filter_map(|&length| segment_prefix(path, length))
            .find_map(|prefix| {
                let (key, list) = self.prefix.get_key_value(prefix)?;
                first_met(Some(list), request).map(|c| Found {
                    action: &c.action,
                    prefix: Some(key.as_str()),
                })
            })
    }

    /// The best candidate among all regular expressions matching `path`.
    fn lookup_regex(&self, path: &str, request: &RequestParts<'_>) -> Option<Found<'_, A>> {
        let set = self.regex_set.as_ref()?;
        set.matches(path)
            .iter()
            .filter_map(|index| first_met(self.regexes.get(index).map(|(_, l)| l), request))
            .min_by_key(|c| c.rank())
            .map(|c| Found {
                action: &c.action,
                prefix: None,
            })
    }
}

/// The first `length` bytes of `path` when they end at a segment boundary: the whole path,
/// a prefix followed by `/`, or the root `/` itself.
fn segment_prefix(path: &str, length: usize) -> Option<&str> {
    let prefix = path.get(..length)?;
    let bounded = length == path.len() || path.as_bytes().get(length) == Some(&b'/');
    (bounded || prefix == "/").then_some(prefix)
}

fn first_met<'a, A>(
    list: Option<&'a Vec<Candidate<A>>>,
    request: &RequestParts<'_>,
) -> Option<&'a Candidate<A>> {
    list?.iter().find(|c| c.conditions.met_by(request))
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
    use http::{HeaderMap, HeaderName, HeaderValue, Method};

    use super::*;
    use crate::conditions::ValueCondition;

    fn header(name: &'static str, value: &'static str) -> Conditions {
        Conditions {
            headers: vec![(
                HeaderName::from_static(name),
                ValueCondition::Exact(HeaderValue::from_static(value)),
            )],
            ..Default::default()
        }
    }

    fn table() -> PathTable<&'static str> {
        let mut t = PathTable::default();
        t.insert(PathKind::Prefix, "/", Conditions::default(), "root");
        t.insert(PathKind::Prefix, "/api", Conditions::default(), "api");
        t.insert(PathKind::Prefix, "/api/v2/", Conditions::default(), "v2");
        t.insert(
            PathKind::Exact,
            "/api/exact",
            Conditions::default(),
            "exact",
        );
        t.insert(
            PathKind::Prefix,
            "/api",
            header("version", "2"),
            "api-v2-header",
        );
        t.insert(
            PathKind::Regex,
            "/api/v[0-9]+/users/[0-9]+",
            Conditions::default(),
            "user",
        );
        t.seal().expect("valid regexes");
        t
    }

    fn lookup_with(path: &str, headers: &HeaderMap) -> Option<&'static str> {
        let request = RequestParts {
            path: "/",
            method: &Method::GET,
            headers,
            query: None,
        };
        table().lookup(path, &request).map(|found| *found.action)
    }

    fn get(path: &str) -> Option<&'static str> {
        lookup_with(path, &HeaderMap::new())
    }

    #[test]
    fn prefixes_match_on_segment_boundaries_longest_first() {
        assert_eq!(get("/api"), Some("api"));
        assert_eq!(get("/api/"), Some("api"));
        assert_eq!(get("/api/v1/x"), Some("api"));
        assert_eq!(get("/api/v2"), Some("v2"));
        assert_eq!(get("/api/v2/users"), Some("v2"));
        assert_eq!(get("/apiary"), Some("root"));
        assert_eq!(get("/"), Some("root"));
        assert_eq!(get("//"), Some("root"));
        assert_eq!(get("/api//"), Some("api"));
    }

    #[test]
    fn a_prefix_match_reports_the_prefix_it_matched() {
        let t = table();
        let headers = HeaderMap::new();
        let request = RequestParts {
            path: "/",
            method: &Method::GET,
            headers: &headers,
            query: None,
        };
        let prefix = |path| t.lookup(path, &request).and_then(|f| f.prefix);
        assert_eq!(prefix("/api/v2/users"), Some("/api/v2"));
        assert_eq!(prefix("/other"), Some("/"));
        assert_eq!(prefix("/api/exact"), None);
    }

    #[test]
    fn deep_paths_match_their_longest_held_prefix() {
        let deep = format!("/api/v2{}", "/a".repeat(5000));
        assert_eq!(get(&deep), Some("v2"));
        assert_eq!(get(&format!("/api/v2x{}", "/a".repeat(5000))), Some("api"));
        assert_eq!(get(&"/".repeat(5000)), Some("root"));
    }

    #[test]
    fn exact_beats_regex_which_beats_prefix() {
        assert_eq!(get("/api/exact"), Some("exact"));
        assert_eq!(get("/api/exact/more"), Some("api"));
        assert_eq!(get("/api/v2/users/42"), Some("user"));
        assert_eq!(
            get("/api/v2/users/42/x"),
            Some("v2"),
            "a regex matches the whole path"
        );
    }

    #[test]
    fn more_header_matches_win_over_insertion_order() {
        let mut headers = HeaderMap::new();
        headers.insert("version", HeaderValue::from_static("2"));
        assert_eq!(lookup_with("/api/x", &headers), Some("api-v2-header"));
        headers.insert("version", HeaderValue::from_static("3"));
        assert_eq!(lookup_with("/api/x", &headers), Some("api"));
    }

    #[test]
    fn a_method_match_outranks_header_matches_on_the_same_path() {
        let mut t = PathTable::default();
        t.insert(PathKind::Prefix, "/", header("version", "four"), "header");
        let patch = Conditions {
            method: Some(Method::PATCH),
            ..Default::default()
        };
        t.insert(PathKind::Prefix, "/", patch, "method");
        let mut headers = HeaderMap::new();
        headers.insert("version", HeaderValue::from_static("four"));
        let request = |method| RequestParts {
            path: "/",
            method,
            headers: &headers,
            query: None,
        };
        let found = |method| t.lookup("/", &request(method)).map(|f| *f.action);
        assert_eq!(found(&Method::PATCH), Some("method"));
        assert_eq!(found(&Method::GET), Some("header"));
    }

    #[test]
    fn unsealed_regexes_do_not_match_and_bad_ones_fail_to_seal() {
        let mut t = PathTable::default();
        t.insert(PathKind::Regex, "/a.*", Conditions::default(), 1);
        let request = RequestParts {
            path: "/",
            method: &Method::GET,
            headers: &HeaderMap::new(),
            query: None,
        };
        assert!(t.lookup("/abc", &request).is_none());
        t.seal().expect("valid regex");
        assert_eq!(t.lookup("/abc", &request).map(|f| *f.action), Some(1));
        t.insert(PathKind::Regex, "/(", Conditions::default(), 2);
        assert!(t.seal().is_err());
    }

    #[test]
    fn no_match_without_a_root_prefix() {
        let mut t = PathTable::default();
        t.insert(PathKind::Exact, "/only", Conditions::default(), 1);
        let request = RequestParts {
            path: "/",
            method: &Method::GET,
            headers: &HeaderMap::new(),
            query: None,
        };
        assert!(t.lookup("/other", &request).is_none());
        assert_eq!(t.lookup("/only", &request).map(|f| *f.action), Some(1));
    }
}
