//! Hostname intersection between a listener and a route, per the Gateway API rules.
//!
//! A wildcard `*.example.com` covers any name with one or more labels before `example.com`.

/// True when `host` lies strictly inside `wildcard`'s domain: an exact name with at least one
/// label before the suffix, or a wildcard with a longer suffix.
fn within(host: &str, wildcard: &str) -> bool {
    let suffix = &wildcard[1..]; // ".example.com"
    let rest = host.strip_prefix('*').unwrap_or(host);
    rest.len() > suffix.len() && rest.ends_with(suffix)
}

/// The hostnames a route serves on a listener. `None` means the two do not intersect;
/// `Some(vec![])` means any host.
pub fn intersect(listener: Option<&str>, route: &[String]) -> Option<Vec<String>> {
    let Some(listener) = listener else {
        return Some(route.to_vec());
    };
    if route.is_empty() {
        return Some(vec![listener.to_string()]);
    }
    let mut out: Vec<String> = Vec::new();
    for host in route {
        let route_host_is_narrower = host.eq_ignore_ascii_case(listener)
            || (listener.starts_with('*') && within(host, listener));
        let common = if route_host_is_narrower {
            Some(host.as_str())
        } else if host.starts_with('*') && within(listener, host) {
            Some(listener)
        } else {
            None
        };
        if let Some(common) = common
            && !out.iter().any(|h| h == common)
        {
            out.push(common.to_string());
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(hosts: &[&str]) -> Vec<String> {
        hosts.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn any_listener_takes_the_route_hostnames() {
        assert_eq!(intersect(None, &v(&["a.com"])), Some(v(&["a.com"])));
        assert_eq!(intersect(None, &[]), Some(vec![]));
    }

    #[test]
    fn route_without_hostnames_takes_the_listener_hostname() {
        assert_eq!(intersect(Some("*.a.com"), &[]), Some(v(&["*.a.com"])));
    }

    #[test]
    fn exact_and_wildcard_combinations() {
        assert_eq!(
            intersect(Some("x.a.com"), &v(&["x.a.com"])),
            Some(v(&["x.a.com"]))
        );
        assert_eq!(
            intersect(Some("*.a.com"), &v(&["x.a.com", "y.b.com"])),
            Some(v(&["x.a.com"]))
        );
        assert_eq!(
            intersect(Some("*.a.com"), &v(&["x.y.a.com"])),
            Some(v(&["x.y.a.com"]))
        );
        assert_eq!(
            intersect(Some("x.a.com"), &v(&["*.a.com"])),
            Some(v(&["x.a.com"]))
        );
        assert_eq!(
            intersect(Some("*.a.com"), &v(&["*.x.a.com"])),
            Some(v(&["*.x.a.com"]))
        );
        assert_eq!(
            intersect(Some("*.x.a.com"), &v(&["*.a.com"])),
            Some(v(&["*.x.a.com"]))
        );
        assert_eq!(
            intersect(Some("*.a.com"), &v(&["*.a.com"])),
            Some(v(&["*.a.com"]))
        );
    }

    #[test]
    fn wildcard_does_not_cover_its_bare_domain() {
        assert_eq!(intersect(Some("*.a.com"), &v(&["a.com"])), None);
        assert_eq!(intersect(Some("a.com"), &v(&["*.a.com"])), None);
        assert_eq!(
            intersect(Some("x.b.com"), &v(&["*.a.com", "y.b.com"])),
            None
        );
    }
}
