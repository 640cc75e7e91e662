//! CORS origin patterns (`allowOrigins` entries), parsed once where they enter the model: `*`,
//! or `scheme://host[:port]` whose host may be `*` (any host) or start with `*.` (any number
//! of labels before the rest).

/// One parsed `allowOrigins` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginPattern {
    /// `*`: every origin.
    Any,
    /// A scheme, host pattern and optional port.
    Origin {
        /// Lowercase scheme.
        scheme: String,
        /// Which hosts.
        host: HostPattern,
        /// The port, when the pattern names one; otherwise the origin must name none.
        port: Option<u16>,
    },
}

/// The host part of an [`OriginPattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// This lowercase host.
    Exact(String),
    /// `*.example.com`: hosts ending in `.example.com` (held with its leading dot).
    Suffix(String),
    /// `*`: any host.
    Any,
}

impl OriginPattern {
    /// Parse an `allowOrigins` entry; the error says what is wrong with it.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "*" {
            return Ok(Self::Any);
        }
        let bad = |why: &str| format!("CORS origin {value:?} {why}");
        let (scheme, rest) = value
            .split_once("://")
            .ok_or_else(|| bad("has no scheme"))?;
        let (host, port) = split_port(rest).ok_or_else(|| bad("has an invalid port"))?;
        if scheme.is_empty() || host.is_empty() {
            return Err(bad("needs a scheme and a host"));
        }
        let host = host.to_ascii_lowercase();
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix('*') {
            if !suffix.starts_with('.') || suffix.contains('*') {
                return Err(bad("may only have '*' as its host or its first label"));
            }
            HostPattern::Suffix(suffix.to_string())
        } else if host.contains('*') {
            return Err(bad("may only have '*' as its host or its first label"));
        } else {
            HostPattern::Exact(host)
        };
        Ok(Self::Origin {
            scheme: scheme.to_ascii_lowercase(),
            host,
            port,
        })
    }

    /// Whether a request's `Origin` value is matched. The opaque origin `null` (sandboxed
    /// documents, files) matches no pattern, not even `*`.
    pub fn matches(&self, origin: &str) -> bool {
        if origin == "null" {
            return false;
        }
        let Self::Origin { scheme, host, port } = self else {
            return true;
        };
        let Some((origin_scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let Some((origin_host, origin_port)) = split_port(rest) else {
            return false;
        };
        let origin_host = origin_host.to_ascii_lowercase();
        origin_scheme.eq_ignore_ascii_case(scheme)
            && *port == origin_port
            && match host {
                HostPattern::Any => true,
                HostPattern::Exact(exact) => *exact == origin_host,
                HostPattern::Suffix(suffix) => {
                    origin_host.len() > suffix.len() && origin_host.ends_with(suffix.as_str())
                }
            }
    }
}

/// `host[:port]` into its parts; `None` when the port is not a number.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_by_wildcard_suffix_or_all() {
        let exact = OriginPattern::parse("https://www.foo.com").expect("valid");
        assert!(exact.matches("https://www.foo.com"));
        assert!(exact.matches("https://WWW.foo.com"));
        assert!(!exact.matches("http://www.foo.com"), "scheme differs");
        assert!(!exact.matches("https://www.foo.com:8443"), "port differs");
        assert!(!exact.matches("null"));
        let suffix = OriginPattern::parse("https://*.bar.com").expect("valid");
        assert!(suffix.matches("https://www.bar.com"));
        assert!(suffix.matches("https://xpto.www.bar.com"));
        assert!(!suffix.matches("https://bar.com"));
        assert!(!suffix.matches("https://foobar.com"));
        let any = OriginPattern::parse("*").expect("valid");
        assert!(any.matches("https://a.b:12345"));
        assert!(!any.matches("null"), "an opaque origin is never allowed");
        for bad in [
            "www.foo.com",
            "https://a.*.com",
            "https://*foo.com",
            "https://a:b",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
