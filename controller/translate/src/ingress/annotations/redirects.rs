//! `permanent-redirect` and `temporal-redirect` (with `permanent-redirect-code`, 301 by
//! default, and `temporal-redirect-code`, 302): every request of the Ingress is answered with a
//! redirect to a fixed URL, as ingress-nginx's `return CODE URL` does (a trailing
//! `$request_uri` keeps the request's path). A query in the URL cannot be set by a Gateway API
//! redirect; a code other than 301, 302, 303, 307 and 308 falls back to the default, as
//! ingress-nginx does.

use super::{Annotations, Feature, Plan};
use crate::ingress::output::{PathModifier, Redirect};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &[
        "permanent-redirect",
        "permanent-redirect-code",
        "temporal-redirect",
        "temporal-redirect-code",
    ],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    let (url, code, default) = match (
        annotations.get("permanent-redirect"),
        annotations.get("temporal-redirect"),
    ) {
        (Some(url), _) => (url, annotations.get("permanent-redirect-code"), 301),
        (None, Some(url)) => (url, annotations.get("temporal-redirect-code"), 302),
        (None, None) => {
            return Outcome::NotPossible("a redirect code without a redirect URL".into());
        }
    };
    let (code, bad_code) = match code.map(str::parse::<u16>) {
        None => (default, None),
        Some(Ok(code @ (301 | 302 | 303 | 307 | 308))) => (code, None),
        // ingress-nginx falls back to its default too.
        Some(_) => (default, code),
    };
    match redirect(url, code) {
        Ok((redirect, query_dropped)) => {
            plan.redirect = Some(redirect);
            if let Some(bad) = bad_code {
                Outcome::Approximated(format!(
                    "redirect code {bad:?} is not one of 301, 302, 303, 307, 308; {default} is \
                     used, as ingress-nginx does"
                ))
            } else if query_dropped {
                Outcome::Approximated(format!(
                    "the query of {url:?} is not sent: a Gateway API redirect keeps the request's"
                ))
            } else {
                Outcome::Translated
            }
        }
        Err(why) => Outcome::NotPossible(why),
    }
}

/// A redirect to `url` with `code`, and whether the URL's query had to be left out. A URL
/// ending in nginx's `$request_uri` keeps the request's path and query.
fn redirect(url: &str, code: u16) -> Result<(Redirect, bool), String> {
    let (url, keep_path) = match url.strip_suffix("$request_uri") {
        Some(base) => (base, true),
        None => (url, false),
    };
    if url.contains('$') {
        return Err(format!(
            "redirect URL {url:?} uses nginx variables; only a trailing $request_uri is carried over"
        ));
    }
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
        .ok_or_else(|| format!("redirect URL {url:?} is not an http or https URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, !query.is_empty()),
        None => (path, false),
    };
    let (hostname, port) = match authority.rsplit_once(':') {
        Some((host, port)) => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("redirect URL {url:?} has an invalid port"))?;
            (host, Some(port))
        }
        None => (authority, None),
    };
    if hostname.is_empty() {
        return Err(format!("redirect URL {url:?} has no host"));
    }
    let redirect = Redirect {
        scheme: Some(if scheme == "https" { "https" } else { "http" }),
        hostname: Some(hostname.to_string()),
        path: (!keep_path).then(|| PathModifier::ReplaceFullPath {
            path: path.to_string(),
        }),
        port,
        status_code: code,
    };
    Ok((redirect, query))
}

#[cfg(test)]
mod tests {
    use super::super::tests::annotations;
    use super::*;

    fn planned(pairs: &[(&str, &str)]) -> (Plan, Outcome) {
        let all = annotations(pairs);
        let mut plan = Plan::default();
        let outcome = apply(&Annotations::of(Some(&all)), &mut plan);
        (plan, outcome)
    }

    #[test]
    fn a_permanent_redirect_is_a_301_to_the_whole_url_unless_a_code_is_given() {
        let (plan, outcome) = planned(&[("permanent-redirect", "https://new.example.com/docs")]);
        assert_eq!(outcome, Outcome::Translated);
        let redirect = plan.redirect.expect("a redirect");
        assert_eq!(redirect.status_code, 301);
        assert_eq!(redirect.hostname.as_deref(), Some("new.example.com"));
        assert_eq!(redirect.scheme, Some("https"));
        assert_eq!(
            redirect.path,
            Some(PathModifier::ReplaceFullPath {
                path: "/docs".into()
            })
        );
        let (plan, _) = planned(&[
            ("temporal-redirect", "http://old.example.com:8080"),
            ("temporal-redirect-code", "307"),
        ]);
        let redirect = plan.redirect.expect("a redirect");
        assert_eq!((redirect.status_code, redirect.port), (307, Some(8080)));
    }

    #[test]
    fn queries_are_approximated_and_bad_codes_or_urls_refused() {
        let (_, outcome) = planned(&[("permanent-redirect", "https://a.example/?x=1")]);
        assert!(matches!(outcome, Outcome::Approximated(_)));
        let (plan, outcome) = planned(&[
            ("permanent-redirect", "https://a.example/"),
            ("permanent-redirect-code", "300"),
        ]);
        assert!(matches!(outcome, Outcome::Approximated(_)));
        assert_eq!(plan.redirect.map(|r| r.status_code), Some(301));
        let (plan, outcome) = planned(&[("permanent-redirect", "https://b.example$request_uri")]);
        assert_eq!(outcome, Outcome::Translated);
        let redirect = plan.redirect.expect("a redirect");
        assert_eq!(
            (redirect.hostname.as_deref(), redirect.path),
            (Some("b.example"), None)
        );
        let (_, outcome) = planned(&[("permanent-redirect", "https://$host/x")]);
        assert!(matches!(outcome, Outcome::NotPossible(_)));
        let (_, outcome) = planned(&[("permanent-redirect", "ftp://a.example/")]);
        assert!(matches!(outcome, Outcome::NotPossible(_)));
    }
}
