//! What a request must have besides its path for a match to apply: a method, headers and
//! query parameters, each exact or a regular expression compiled once per snapshot. Checking
//! them costs time linear in the request's headers and query string.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use portico_snapshot::{HeaderMatch, RegexPattern, ValueMatch};
use regex::Regex;

use crate::error::BuildError;
use crate::rule::header_pair;

/// How a header or query parameter value is compared.
#[derive(Debug, Clone)]
pub enum ValueCondition<T> {
    /// Equal to this value.
    Exact(T),
    /// The whole value matches (the expression is anchored).
    Regex(Regex),
}

/// The conditions of one match, besides its path.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// For a gRPC match, the exact service and method names it was filed under (see
    /// [`ExactNames`]); none for an HTTP match.
    pub exact_names: ExactNames,
    /// For a gRPC match, the regular expressions its service and method must match.
    pub rpc_names: RpcNames,
    /// The request's method.
    pub method: Option<Method>,
    /// Headers that must be present with a matching value.
    pub headers: Vec<(HeaderName, ValueCondition<HeaderValue>)>,
    /// Query parameters (decoded) that must be present with a matching (decoded) first value.
    pub query: Vec<(String, ValueCondition<String>)>,
}

/// A match's header conditions, compiled for `route` (named in errors).
pub(crate) fn header_conditions(
    route: &str,
    headers: &[HeaderMatch],
) -> Result<Vec<(HeaderName, ValueCondition<HeaderValue>)>, BuildError> {
    headers
        .iter()
        .map(|h| {
            let condition = match &h.value {
                ValueMatch::Exact(value) => {
                    ValueCondition::Exact(header_pair(route, &h.name, Some(value))?.1)
                }
                ValueMatch::RegularExpression(pattern) => {
                    ValueCondition::Regex(compile_regex(route, pattern)?)
                }
            };
            Ok((header_pair(route, &h.name, None)?.0, condition))
        })
        .collect()
}

/// A value's regular expression, anchored, for `route` (named in errors).
pub(crate) fn compile_regex(route: &str, pattern: &RegexPattern) -> Result<Regex, BuildError> {
    pattern
        .compile()
        .map_err(|e| BuildError(format!("route {route}: {e}")))
}

/// The parts of a request the conditions look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The normalised path, without the query.
    pub path: &'a str,
    /// The request's method.
    pub method: &'a Method,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The query string without `?`.
    pub query: Option<&'a str>,
}

/// How many characters of exact service name and of exact method name a gRPC match names.
/// GRPCRoute precedence ranks these (service first) before header matches; a regular
/// expression or a missing name counts as none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExactNames {
    /// Characters of the exact service.
    pub service: usize,
    /// Characters of the exact method.
    pub method: usize,
}

/// Regular expressions a gRPC call's service and method (the two segments of its path) must
/// each match as a whole; none for HTTP matches.
#[derive(Debug, Clone, Default)]
pub struct RpcNames {
    /// What the service must match.
    pub service: Option<Regex>,
    /// What the method must match.
    pub method: Option<Regex>,
}

impl RpcNames {
    /// Whether the call to `path` (`/{service}/{method}`) has matching names.
    fn met_by(&self, path: &str) -> bool {
        if self.service.is_none() && self.method.is_none() {
            return true;
        }
        let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return false;
        };
        !method.contains('/')
            && self.service.as_ref().is_none_or(|r| r.is_match(service))
            && self.method.as_ref().is_none_or(|r| r.is_match(method))
    }
}

/// How specific a set of conditions is; more specific sorts first. The Gateway API orders
/// matches on one path by method, then header count, then query parameter count; gRPC matches
/// by exact service and method names before header count.
pub type Specificity = (
    std::cmp::Reverse<ExactNames>,
    std::cmp::Reverse<bool>,
    std::cmp::Reverse<usize>,
    std::cmp::Reverse<usize>,
);

impl Conditions {
    /// How specific these conditions are.
    pub fn specificity(&self) -> Specificity {
        use std::cmp::Reverse;
        (
            Reverse(self.exact_names),
            Reverse(self.method.is_some()),
            Reverse(self.headers.len()),
            Reverse(self.query.len()),
        )
    }

    /// Whether `request` meets every condition.
    pub fn met_by(&self, request: &RequestParts<'_>) -> bool {
        self.method.as_ref().is_none_or(|m| m == request.method)
            && self.rpc_names.met_by(request.path)
            && self
                .headers
                .iter()
                .all(|(name, condition)| header_matches(request.headers, name, condition))
            && self.query.iter().all(|(name, condition)| {
                first_query_value(request.query, name)
                    .is_some_and(|value| query_value_matches(&value, condition))
            })
    }
}

fn header_matches(
    headers: &HeaderMap,
    name: &HeaderName,
    condition: &ValueCondition<HeaderValue>,
) -> bool {
    headers.get_all(name).iter().any(|value| match condition {
        ValueCondition::Exact(expected) => value == expected,
        ValueCondition::Regex(regex) => {
            std::str::from_utf8(value.as_bytes()).is_ok_and(|value| regex.is_match(value))
        }
    })
}

fn query_value_matches(value: &str, condition: &ValueCondition<String>) -> bool {
    match condition {
        ValueCondition::Exact(expected) => value == expected,
        ValueCondition::Regex(regex) => regex.is_match(value),
    }
}

/// The percent-decoded value of the first parameter of `query` whose percent-decoded name is
/// `name` (a parameter without `=` has the empty value).
pub fn first_query_value<'q>(query: Option<&'q str>, name: &str) -> Option<Cow<'q, str>> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// `%XX` escapes decoded; malformed escapes kept as written; invalid UTF-8 replaced.
fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                decoded.push(value);
                i += 3;
            }
            None => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str) -> Regex {
        Regex::new(&format!("^(?:{pattern})$")).expect("valid regex")
    }

    #[test]
    fn query_parameters_compare_their_first_decoded_value_and_exact_names() {
        let query = Some("animal=whale&Animal=shark&animal=dolphin&flag&sp%61ce=a%20b");
        assert_eq!(first_query_value(query, "animal").as_deref(), Some("whale"));
        assert_eq!(first_query_value(query, "Animal").as_deref(), Some("shark"));
        assert_eq!(first_query_value(query, "flag").as_deref(), Some(""));
        assert_eq!(first_query_value(query, "space").as_deref(), Some("a b"));
        assert_eq!(first_query_value(query, "ANIMAL"), None);
        assert_eq!(first_query_value(None, "animal"), None);
        assert_eq!(percent_decode("100%"), "100%", "a malformed escape is kept");
    }

    #[test]
    fn every_condition_must_hold() {
        let conditions = Conditions {
            method: Some(Method::POST),
            headers: vec![(
                HeaderName::from_static("tenant"),
                ValueCondition::Regex(regex("t-[0-9]+")),
            )],
            query: vec![("v".into(), ValueCondition::Exact("2".into()))],
            ..Default::default()
        };
        let mut headers = HeaderMap::new();
        headers.insert("tenant", HeaderValue::from_static("t-42"));
        let request = |method: &'static Method, query: Option<&'static str>| RequestParts {
            path: "/",
            method,
            headers: &headers,
            query,
        };
        assert!(conditions.met_by(&request(&Method::POST, Some("v=2"))));
        assert!(!conditions.met_by(&request(&Method::GET, Some("v=2"))));
        assert!(!conditions.met_by(&request(&Method::POST, Some("v=3"))));
        assert!(!conditions.met_by(&request(&Method::POST, None)));
        let mut other = HeaderMap::new();
        other.insert("tenant", HeaderValue::from_static("t-42x"));
        let anchored = RequestParts {
            path: "/",
            method: &Method::POST,
            headers: &other,
            query: Some("v=2"),
        };
        assert!(
            !conditions.met_by(&anchored),
            "a regex matches whole values"
        );
    }

    #[test]
    fn a_method_outranks_headers_which_outrank_query_parameters() {
        let method = Conditions {
            method: Some(Method::GET),
            ..Default::default()
        };
        let headers = Conditions {
            headers: vec![(
                HeaderName::from_static("a"),
                ValueCondition::Exact(HeaderValue::from_static("1")),
            )],
            ..Default::default()
        };
        let query = Conditions {
            query: vec![("a".into(), ValueCondition::Exact("1".into()))],
            ..Default::default()
        };
        let mut ranked = [&query, &headers, &method];
        ranked.sort_by_key(|c| c.specificity());
        assert!(ranked[0].method.is_some());
        assert_eq!(ranked[1].headers.len(), 1);
        assert_eq!(ranked[2].query.len(), 1);
    }
}
