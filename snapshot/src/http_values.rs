//! HTTP values checked once, where they enter the model (from the translator or from the
//! wire), so nothing downstream parses them again: header names and values, methods, regular
//! expressions, redirect schemes and status codes.

use serde::{Deserialize, Serialize};

/// A value that is not a valid HTTP header name, header value, scheme or redirect code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidHttpValue {
    /// Header names are RFC 9110 tokens.
    #[error("{0:?} is not a valid header name")]
    HeaderName(String),
    /// Header values hold no control characters (tab aside).
    #[error("header value {0:?} holds a control character")]
    HeaderValue(String),
    /// Redirects go to `http` or `https`.
    #[error("{0:?} is not a redirect scheme (http or https)")]
    Scheme(String),
    /// Redirects answer 301, 302, 303, 307 or 308.
    #[error("{0} is not a redirect status code (301, 302, 303, 307 or 308)")]
    RedirectCode(u32),
    /// Methods are the nine of RFC 9110 and RFC 5789 that HTTPRoute names.
    #[error("{0:?} is not an HTTP method HTTPRoute can match")]
    Method(String),
    /// Regular expressions use the syntax of the `regex` crate and stay under its size limit.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    Regex {
        /// The pattern as written.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
}

/// An HTTP header name: a non-empty RFC 9110 token, kept as written (names compare
/// case-insensitively on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HeaderName(String);

impl HeaderName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HeaderName {
    type Error = InvalidHttpValue;
    fn try_from(name: String) -> Result<Self, InvalidHttpValue> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(InvalidHttpValue::HeaderName(name));
        }
        Ok(Self(name))
    }
}

impl TryFrom<&str> for HeaderName {
    type Error = InvalidHttpValue;
    fn try_from(name: &str) -> Result<Self, InvalidHttpValue> {
        Self::try_from(name.to_string())
    }
}

impl From<HeaderName> for String {
    fn from(name: HeaderName) -> Self {
        name.0
    }
}

/// An HTTP header value: any text without control characters (tab is allowed), as RFC 9110
/// field values are. A YAML block scalar's trailing newline is the usual culprit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HeaderValue(String);

impl HeaderValue {
    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HeaderValue {
    type Error = InvalidHttpValue;
    fn try_from(value: String) -> Result<Self, InvalidHttpValue> {
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(InvalidHttpValue::HeaderValue(value));
        }
        Ok(Self(value))
    }
}

impl TryFrom<&str> for HeaderValue {
    type Error = InvalidHttpValue;
    fn try_from(value: &str) -> Result<Self, InvalidHttpValue> {
        Self::try_from(value.to_string())
    }
}

impl From<HeaderValue> for String {
    fn from(value: HeaderValue) -> Self {
        value.0
    }
}

/// An HTTP method a route can match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
}

impl Method {
    /// The method as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
            Self::Options => "OPTIONS",
            Self::Trace => "TRACE",
            Self::Patch => "PATCH",
        }
    }
}

impl TryFrom<&str> for Method {
    type Error = InvalidHttpValue;
    fn try_from(method: &str) -> Result<Self, InvalidHttpValue> {
        Ok(match method {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "CONNECT" => Self::Connect,
            "OPTIONS" => Self::Options,
            "TRACE" => Self::Trace,
            "PATCH" => Self::Patch,
            other => return Err(InvalidHttpValue::Method(other.to_string())),
        })
    }
}

impl TryFrom<String> for Method {
    type Error = InvalidHttpValue;
    fn try_from(method: String) -> Result<Self, InvalidHttpValue> {
        Self::try_from(method.as_str())
    }
}

impl From<Method> for &'static str {
    fn from(method: Method) -> Self {
        method.as_str()
    }
}

/// A regular expression that compiles with the `regex` crate (linear-time matching) within
/// [`RegexPattern::SIZE_LIMIT`]. It matches a whole value: the data plane anchors it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegexPattern(String);

impl RegexPattern {
    /// Upper bound, in bytes, of one compiled expression; larger ones are refused.
    pub const SIZE_LIMIT: usize = 1 << 20;

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pattern compiled to match a whole value, never a part of it.
    pub fn compile(&self) -> Result<regex::Regex, InvalidHttpValue> {
        regex::RegexBuilder::new(&format!("^(?:{})$", self.0))
            .size_limit(Self::SIZE_LIMIT)
            .build()
            .map_err(|e| InvalidHttpValue::Regex {
                pattern: self.0.clone(),
                reason: regex_error(e),
            })
    }
}

/// A regex error in one line: a syntax error's own message, without the copy of the (anchored)
/// pattern the crate prints above it.
fn regex_error(error: regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(&text)
            .to_string(),
        other => other.to_string(),
    }
}

impl TryFrom<String> for RegexPattern {
    type Error = InvalidHttpValue;
    fn try_from(pattern: String) -> Result<Self, InvalidHttpValue> {
        let checked = Self(pattern);
        checked.compile()?;
        Ok(checked)
    }
}

impl TryFrom<&str> for RegexPattern {
    type Error = InvalidHttpValue;
    fn try_from(pattern: &str) -> Result<Self, InvalidHttpValue> {
        Self::try_from(pattern.to_string())
    }
}

impl From<RegexPattern> for String {
    fn from(pattern: RegexPattern) -> Self {
        pattern.0
    }
}

/// The scheme of a URL Portico builds (redirects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    Https,
}

impl Scheme {
    /// The scheme as written in a URL.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    /// The port a URL of this scheme implies.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

impl TryFrom<&str> for Scheme {
    type Error = InvalidHttpValue;
    fn try_from(scheme: &str) -> Result<Self, InvalidHttpValue> {
        match scheme {
            "http" => Ok(Self::Http),
            "https" => Ok(Self::Https),
            other => Err(InvalidHttpValue::Scheme(other.to_string())),
        }
    }
}

/// The status code of a redirect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u16")]
pub enum RedirectCode {
    /// 301 Moved Permanently.
    MovedPermanently,
    /// 302 Found (the Gateway API default).
    #[default]
    Found,
    /// 303 See Other.
    SeeOther,
    /// 307 Temporary Redirect.
    TemporaryRedirect,
    /// 308 Permanent Redirect.
    PermanentRedirect,
}

impl RedirectCode {
    /// The numeric status code.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::MovedPermanently => 301,
            Self::Found => 302,
            Self::SeeOther => 303,
            Self::TemporaryRedirect => 307,
            Self::PermanentRedirect => 308,
        }
    }
}

impl TryFrom<u32> for RedirectCode {
    type Error = InvalidHttpValue;
    fn try_from(code: u32) -> Result<Self, InvalidHttpValue> {
        match code {
            301 => Ok(Self::MovedPermanently),
            302 => Ok(Self::Found),
            303 => Ok(Self::SeeOther),
            307 => Ok(Self::TemporaryRedirect),
            308 => Ok(Self::PermanentRedirect),
            other => Err(InvalidHttpValue::RedirectCode(other)),
        }
    }
}

impl From<RedirectCode> for u16 {
    fn from(code: RedirectCode) -> Self {
        code.as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_tokens_kept_as_written() {
        assert_eq!(
            HeaderName::try_from("X-Request-Id").map(|n| n.as_str().to_string()),
            Ok("X-Request-Id".to_string())
        );
        for bad in ["", "bad header", "colon:", "naïve"] {
            assert!(HeaderName::try_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_values_refuse_control_characters_but_not_tabs_or_unicode() {
        assert!(HeaderValue::try_from("a\tb é").is_ok());
        assert!(HeaderValue::try_from("two\nlines").is_err());
        assert!(HeaderValue::try_from("del\u{7f}").is_err());
    }

    #[test]
    fn methods_are_the_nine_route_methods_in_capitals() {
        assert_eq!(Method::try_from("PATCH"), Ok(Method::Patch));
        assert!(Method::try_from("get").is_err());
        assert!(Method::try_from("PROPFIND").is_err());
    }

    #[test]
    fn regexes_match_whole_values_and_bad_ones_are_refused() {
        let pattern = RegexPattern::try_from("/v[0-9]+").expect("valid pattern");
        let compiled = pattern.compile().expect("compiles");
        assert!(compiled.is_match("/v12"));
        assert!(!compiled.is_match("/v12/more"), "anchored at the end");
        assert!(!compiled.is_match("/api/v1"), "anchored at the start");
        assert_eq!(
            RegexPattern::try_from("(unclosed").map_err(|e| e.to_string()),
            Err("invalid regular expression \"(unclosed\": unclosed group".to_string())
        );
        assert!(
            RegexPattern::try_from("a{1000}{1000}").is_err(),
            "over the size limit"
        );
    }

    #[test]
    fn redirect_codes_and_schemes_survive_serde_as_numbers_and_words() {
        let code: RedirectCode = serde_json::from_str("308").expect("valid code");
        assert_eq!(code, RedirectCode::PermanentRedirect);
        assert_eq!(serde_json::to_string(&code).ok().as_deref(), Some("308"));
        assert!(serde_json::from_str::<RedirectCode>("200").is_err());
        assert_eq!(Scheme::try_from("https"), Ok(Scheme::Https));
        assert!(Scheme::try_from("ftp").is_err());
        assert_eq!(
            serde_json::to_string(&Scheme::Http).ok().as_deref(),
            Some("\"http\"")
        );
    }
}
