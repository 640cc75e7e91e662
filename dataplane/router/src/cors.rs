//! A rule's CORS filter, compiled once per snapshot: which origins are allowed, and the
//! `Access-Control-*` headers answering a preflight or added to an actual response.
//!
//! An allowed origin is always echoed in `Access-Control-Allow-Origin` (never `*`), which is
//! right whether or not the request carries credentials; a `*` in `allowMethods` or
//! `allowHeaders` is answered with `*`, or, when credentials are allowed (browsers then ignore
//! `*`), with what the preflight asked for. The answers vary with `Origin`, so they say so in
//! `Vary`.

use http::{HeaderName, HeaderValue, header};
use portico_snapshot::{CorsPolicy, OriginPattern};

use crate::error::BuildError;

/// A compiled CORS filter.
#[derive(Debug)]
pub struct Cors {
    origins: Vec<OriginPattern>,
    credentials: bool,
    methods: Allowed,
    headers: Allowed,
    expose: Allowed,
    max_age: HeaderValue,
}

/// What a list of methods or header names allows.
#[derive(Debug)]
enum Allowed {
    /// Nothing was listed.
    Unset,
    /// `*`.
    Any,
    /// The list, joined with `, `.
    Listed(HeaderValue),
}

impl Cors {
    /// Compile `policy` of `route`.
    pub fn compile(route: &str, policy: &CorsPolicy) -> Result<Self, BuildError> {
        let origins = policy
            .allow_origins
            .iter()
            .map(|o| OriginPattern::parse(o).map_err(|e| BuildError(format!("route {route}: {e}"))))
            .collect::<Result<_, _>>()?;
        let max_age = HeaderValue::from(policy.max_age_seconds);
        Ok(Self {
            origins,
            credentials: policy.allow_credentials,
            methods: Allowed::from_list(route, &policy.allow_methods)?,
            headers: Allowed::from_list(route, &policy.allow_headers)?,
            expose: Allowed::from_list(route, &policy.expose_headers)?,
            max_age,
        })
    }

    /// Whether requests from `origin` (the `Origin` header) are allowed.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        self.origins.iter().any(|pattern| pattern.matches(origin))
    }

    /// The headers answering a preflight from `origin` that asks for `method` and `headers`
    /// (`Access-Control-Request-Method` and `-Headers`); without an allowed origin, only
    /// `Vary`.
    pub fn preflight(
        &self,
        origin: &HeaderValue,
        method: Option<&HeaderValue>,
        headers: Option<&HeaderValue>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut answer = vec![(header::VARY, HeaderValue::from_static("Origin"))];
        if !self.allows(origin) {
            return answer;
        }
        answer.extend(self.origin_and_credentials(origin));
        if let Some(methods) = self.methods.answer(self.credentials, method) {
            answer.push((header::ACCESS_CONTROL_ALLOW_METHODS, methods));
        }
        if let Some(allowed) = self.headers.answer(self.credentials, headers) {
            answer.push((header::ACCESS_CONTROL_ALLOW_HEADERS, allowed));
        }
        if let Some(exposed) = self.expose.answer(self.credentials, None) {
            answer.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed));
        }
        answer.push((header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone()));
        answer
    }

    /// The headers added to the response to an actual request from `origin`, whose own header
    /// names are `response_headers` (exposed one by one when every header is, for a request
    /// with credentials); without an allowed origin, only `Vary`.
    pub fn response<'a>(
        &self,
        origin: &HeaderValue,
        response_headers: impl Iterator<Item = &'a HeaderName>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut answer = vec![(header::VARY, HeaderValue::from_static("Origin"))];
        if !self.allows(origin) {
            return answer;
        }
        answer.extend(self.origin_and_credentials(origin));
        let exposed = match (&self.expose, self.credentials) {
            (Allowed::Any, true) => {
                let names: Vec<&str> = response_headers.map(HeaderName::as_str).collect();
                HeaderValue::from_str(&names.join(", ")).ok()
            }
            (expose, credentials) => expose.answer(credentials, None),
        };
        if let Some(exposed) = exposed.filter(|v| !v.is_empty()) {
            answer.push((header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed));
        }
        answer
    }

    fn origin_and_credentials(
        &self,
        origin: &HeaderValue,
    ) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
        let credentials = self.credentials.then(|| {
            (
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            )
        });
        std::iter::once((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone())).chain(credentials)
    }
}

impl Allowed {
    fn from_list(route: &str, list: &[String]) -> Result<Self, BuildError> {
        if list.is_empty() {
            return Ok(Self::Unset);
        }
        if list.iter().any(|item| item == "*") {
            return Ok(Self::Any);
        }
        HeaderValue::from_str(&list.join(", "))
            .map(Self::Listed)
            .map_err(|_| BuildError(format!("route {route}: invalid CORS list {list:?}")))
    }

    /// The value answering a request that asked for `requested`: the list, or for `*`,
    /// `*` itself unless credentials are allowed (then what was asked for).
    fn answer(&self, credentials: bool, requested: Option<&HeaderValue>) -> Option<HeaderValue> {
        match self {
            Self::Unset => None,
            Self::Listed(list) => Some(list.clone()),
            Self::Any if credentials => requested.cloned(),
            Self::Any => Some(HeaderValue::from_static("*")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], credentials: bool) -> CorsPolicy {
        CorsPolicy {
            allow_origins: origins.iter().map(ToString::to_string).collect(),
            allow_credentials: credentials,
            allow_methods: vec!["GET".into(), "OPTIONS".into()],
            allow_headers: vec!["x-header-1".into(), "x-header-2".into()],
            expose_headers: vec!["x-header-3".into()],
            max_age_seconds: 3600,
        }
    }

    fn value(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    fn get<'a>(answer: &'a [(HeaderName, HeaderValue)], name: &HeaderName) -> Option<&'a str> {
        answer
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.to_str().ok())
    }

    #[test]
    fn invalid_origins_do_not_compile() {
        assert!(Cors::compile("r", &policy(&["www.foo.com"], false)).is_err());
        let cors = Cors::compile("r", &policy(&["https://www.foo.com"], false)).expect("compiles");
        assert!(cors.allows(&value("https://www.foo.com")));
        assert!(!cors.allows(&value("https://www.foo.com:1")));
    }

    #[test]
    fn a_preflight_is_answered_with_the_lists_and_the_echoed_origin() {
        let cors = Cors::compile("r", &policy(&["https://*.bar.com"], true)).expect("compiles");
        let answer = cors.preflight(&value("https://www.bar.com"), Some(&value("GET")), None);
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("https://www.bar.com")
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_METHODS),
            Some("GET, OPTIONS")
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_HEADERS),
            Some("x-header-1, x-header-2")
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_EXPOSE_HEADERS),
            Some("x-header-3")
        );
        assert_eq!(get(&answer, &header::ACCESS_CONTROL_MAX_AGE), Some("3600"));
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            Some("true")
        );
        assert_eq!(get(&answer, &header::VARY), Some("Origin"));

        let refused = cors.preflight(&value("https://foobar.com"), Some(&value("GET")), None);
        assert_eq!(refused.len(), 1, "only Vary: {refused:?}");
    }

    #[test]
    fn wildcards_are_answered_with_what_was_asked_when_credentials_are_allowed() {
        let wildcards = |credentials| CorsPolicy {
            allow_origins: vec!["*".into()],
            allow_credentials: credentials,
            allow_methods: vec!["*".into()],
            allow_headers: vec!["*".into()],
            expose_headers: vec!["*".into()],
            max_age_seconds: 5,
        };
        let asked = (value("PUT"), value("x-header-1, x-header-2"));
        let origin = value("https://other.foo.com");

        let cors = Cors::compile("r", &wildcards(true)).expect("compiles");
        let answer = cors.preflight(&origin, Some(&asked.0), Some(&asked.1));
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_METHODS),
            Some("PUT")
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_HEADERS),
            Some("x-header-1, x-header-2")
        );
        let response = [header::CONTENT_TYPE, HeaderName::from_static("x-trace")];
        let answer = cors.response(&origin, response.iter());
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_EXPOSE_HEADERS),
            Some("content-type, x-trace")
        );

        let cors = Cors::compile("r", &wildcards(false)).expect("compiles");
        let answer = cors.preflight(&origin, Some(&asked.0), Some(&asked.1));
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_METHODS),
            Some("*")
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_HEADERS),
            Some("*")
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            None
        );
        assert_eq!(
            get(&answer, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some("https://other.foo.com")
        );
    }
}
