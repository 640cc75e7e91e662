//! Hostname lookup with Gateway API semantics.
//!
//! A wildcard `*.example.com` matches any host with at least one more label in front of
//! `example.com` (`a.example.com`, `a.b.example.com`) but not `example.com` itself. Lookups are
//! one hash probe per label of the request host, whatever the number of hostnames stored.

use std::collections::HashMap;

/// Values keyed by hostname pattern: exact, wildcard or catch-all.
#[derive(Debug, Clone)]
pub struct HostMap<T> {
    exact: HashMap<String, T>,
    /// Keyed by the suffix after the `*`, e.g. `.example.com`.
    wildcard: HashMap<String, T>,
    /// Distinct lengths of the keys in `wildcard`, longest first.
    wildcard_lengths: Vec<usize>,
    any: Option<T>,
}

impl<T> Default for HostMap<T> {
    fn default() -> Self {
        Self {
            exact: HashMap::new(),
            wildcard: HashMap::new(),
            wildcard_lengths: Vec::new(),
            any: None,
        }
    }
}

impl<T: Default> HostMap<T> {
    /// The entry for `pattern` (`None` meaning any host), created empty if absent.
    pub fn entry(&mut self, pattern: Option<&str>) -> &mut T {
        match pattern {
            None => self.any.get_or_insert_with(T::default),
            Some(p) => match p.strip_prefix('*') {
                Some(suffix) => {
                    if let Err(at) = self
                        .wildcard_lengths
                        .binary_search_by(|held| suffix.len().cmp(held))
                    {
                        self.wildcard_lengths.insert(at, suffix.len());
                    }
                    self.wildcard
                        .entry(suffix.to_ascii_lowercase())
                        .or_default()
                }
                None => self.exact.entry(p.to_ascii_lowercase()).or_default(),
            },
        }
    }
}

impl<T> HostMap<T> {
    /// Call `f` on every entry, stopping at the first error.
    pub fn try_for_each_mut<E>(&mut self, f: impl FnMut(&mut T) -> Result<(), E>) -> Result<(), E> {
        self.exact
            .values_mut()
            .chain(self.wildcard.values_mut())
            .chain(self.any.as_mut())
            .try_for_each(f)
    }

    /// Every entry matching `host` (lowercase, without port), most specific first.
    pub fn matching<'a, 'h>(
        &'a self,
        host: &'h str,
    ) -> impl Iterator<Item = &'a T> + use<'a, 'h, T> {
        let exact = self.exact.get(host);
        // `*.example.com` is stored as `.example.com`: a suffix starting at a dot, with at
        // least one byte of label in front of it.
        let wildcards = self
            .wildcard_lengths
            .iter()
            .filter_map(move |&length| {
                let start = host.len().checked_sub(length).filter(|&s| s > 0)?;
                host.get(start..).filter(|suffix| suffix.starts_with('.'))
            })
            .filter_map(move |suffix| self.wildcard.get(suffix));
        exact.into_iter().chain(wildcards).chain(self.any.as_ref())
    }
}

/// The host of a `Host` header or `:authority`: port removed, lowercased only when needed.
pub fn normalize_host(authority: &str) -> std::borrow::Cow<'_, str> {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        // IPv6 literal: keep the brackets' content.
        rest.split(']').next().unwrap_or(rest)
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> HostMap<&'static str> {
        let mut m = HostMap::default();
        *m.entry(Some("a.example.com")) = "exact";
        *m.entry(Some("*.example.com")) = "wild";
        *m.entry(Some("*.b.example.com")) = "wild-b";
        *m.entry(None) = "any";
        m
    }

    fn lookup(host: &str) -> Vec<&'static str> {
        map().matching(host).copied().collect()
    }

    #[test]
    fn exact_then_most_specific_wildcard_then_any() {
        assert_eq!(lookup("a.example.com"), ["exact", "wild", "any"]);
        assert_eq!(lookup("x.b.example.com"), ["wild-b", "wild", "any"]);
    }

    #[test]
    fn wildcard_does_not_match_its_own_suffix() {
        assert_eq!(lookup("example.com"), ["any"]);
        assert_eq!(lookup("b.example.com"), ["wild", "any"]);
    }

    #[test]
    fn wildcard_suffix_starts_at_a_label_boundary() {
        assert_eq!(lookup("xb.example.com"), ["wild", "any"]);
        assert_eq!(lookup("xexample.com"), ["any"]);
        let deep = format!("{}b.example.com", "a.".repeat(1000));
        assert_eq!(lookup(&deep), ["wild-b", "wild", "any"]);
    }

    #[test]
    fn normalizes_port_case_and_trailing_dot() {
        assert_eq!(normalize_host("Foo.Example.com:8080"), "foo.example.com");
        assert_eq!(normalize_host("foo.example.com."), "foo.example.com");
        assert_eq!(normalize_host("[::1]:80"), "::1");
        assert_eq!(normalize_host("10.0.0.1"), "10.0.0.1");
    }
}
