//! Request paths normalised before they are matched and forwarded, so a route matches the
//! resource a backend will serve: `/public/../admin` and `/public/%2e%2e/admin` are `/admin`,
//! not something under `/public`.
//!
//! As RFC 3986 §6.2.2 and Envoy's `normalize_path` do: percent-encoded unreserved characters
//! are decoded (`%7E` is `~`, `%2e` is `.`), other percent-encodings get uppercase hex digits,
//! and `.` and `..` segments are removed (§5.2.4; `..` never climbs above the root).
//! Optionally, runs of `/` become one. Encoded slashes (`%2F`, `%5C`) follow a
//! [`EncodedSlashes`] policy. One pass over the path; a path needing no change is not copied.

use std::borrow::Cow;

/// What to do with `%2F` and `%5C` (encoded `/` and `\`) in a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodedSlashes {
    /// Keep them encoded: they are data, not separators (the default, as in Envoy).
    #[default]
    Keep,
    /// Decode them into separators before normalising.
    Decode,
    /// Refuse the request (400).
    Reject,
}

/// How paths are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPolicy {
    /// Turn runs of `/` into one.
    pub merge_slashes: bool,
    /// What encoded slashes mean.
    pub encoded_slashes: EncodedSlashes,
}

impl Default for PathPolicy {
    fn default() -> Self {
        Self {
            merge_slashes: true,
            encoded_slashes: EncodedSlashes::Keep,
        }
    }
}

/// A path the policy refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectedPath;

impl std::fmt::Display for RejectedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the path contains an encoded slash")
    }
}

impl std::error::Error for RejectedPath {}

/// `path` (without query) normalised under `policy`. Paths not starting with `/` (`*`) are
/// returned as they are.
pub fn normalize_path(path: &str, policy: PathPolicy) -> Result<Cow<'_, str>, RejectedPath> {
    if !path.starts_with('/') || is_normal(path, policy) {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode(path, policy.encoded_slashes)?;
    Ok(Cow::Owned(remove_dot_segments(
        &decoded,
        policy.merge_slashes,
    )))
}

/// Whether `path` has nothing to normalise: no `%`, no `.` segment, no empty segment to merge.
fn is_normal(path: &str, policy: PathPolicy) -> bool {
    if path.contains('%') {
        return false;
    }
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        let mergeable = policy.merge_slashes && segment.is_empty() && !last;
        if segment == "." || segment == ".." || mergeable {
            return false;
        }
    }
    true
}

/// Percent-decode unreserved characters (and slashes when `slashes` says so); uppercase the
/// hex digits of every other percent-encoding. A `%` that starts no valid escape is encoded as
/// `%25`: kept bare, it could join a decoded character into a new escape (`%%32%65` would
/// become `%2e`, which a backend decodes into the dot segment removed here).
fn decode(path: &str, slashes: EncodedSlashes) -> Result<String, RejectedPath> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escape = (byte == b'%')
            .then(|| Some((hex(*bytes.get(index + 1)?)?, hex(*bytes.get(index + 2)?)?)))
            .flatten();
        let Some((high, low)) = escape else {
            if byte == b'%' {
                out.push_str("%25");
                index += 1;
                continue;
            }
            let next = path[index..]
                .char_indices()
                .nth(1)
                .map_or(path.len(), |(offset, _)| index + offset);
            out.push_str(&path[index..next]);
            index = next;
            continue;
        };
        let decoded = high * 16 + low;
        match decoded {
            b'/' | b'\\' => match slashes {
                EncodedSlashes::Keep => push_escape(&mut out, decoded),
                EncodedSlashes::Decode => out.push('/'),
                EncodedSlashes::Reject => return Err(RejectedPath),
            },
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(decoded));
            }
            _ => push_escape(&mut out, decoded),
        }
        index += 3;
    }
    Ok(out)
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn push_escape(out: &mut String, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(DIGITS[usize::from(byte >> 4)]));
    out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
}

/// RFC 3986 §5.2.4 on an absolute path, in one pass: `.` segments go, `..` removes the
/// segment before it (never the root); a trailing `.` or `..` leaves a trailing `/`.
fn remove_dot_segments(path: &str, merge_slashes: bool) -> String {
    let mut out = String::with_capacity(path.len());
    // Where each segment kept in `out` starts (at its `/`).
    let mut starts: Vec<usize> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let count = segments.len();
    for (index, segment) in segments.into_iter().enumerate() {
        let last = index + 1 == count;
        match segment {
            "." | ".." => {
                if segment == ".."
                    && let Some(start) = starts.pop()
                {
                    out.truncate(start);
                }
                if last {
                    out.push('/');
                }
            }
            "" if merge_slashes && !last => {}
            _ => {
                starts.push(out.len());
                out.push('/');
                out.push_str(segment);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str) -> String {
        normalize_path(path, PathPolicy::default())
            .expect("accepted")
            .into_owned()
    }

    #[test]
    fn dot_segments_are_removed_and_never_climb_above_the_root() {
        assert_eq!(normal("/public/../admin/secret"), "/admin/secret");
        assert_eq!(normal("/a/./b/../c"), "/a/c");
        assert_eq!(normal("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(normal("/a/b/.."), "/a/");
        assert_eq!(normal("/a/."), "/a/");
        assert_eq!(normal("/.."), "/");
        assert_eq!(normal("/a/..b/.c"), "/a/..b/.c");
    }

    #[test]
    fn encoded_dots_and_unreserved_characters_are_decoded() {
        assert_eq!(normal("/public/%2e%2e/admin/secret"), "/admin/secret");
        assert_eq!(normal("/public/%2E./admin"), "/admin");
        assert_eq!(normal("/%7Euser/%41%62"), "/~user/Ab");
        assert_eq!(normal("/a%20b/%e2%82%ac"), "/a%20b/%E2%82%AC");
        assert_eq!(normal("/100%/x%zz"), "/100%25/x%25zz");
        // A stray `%` never joins decoded characters into a new escape.
        assert_eq!(
            normal("/public/%%32%65%%32%65/admin"),
            "/public/%252e%252e/admin"
        );
    }

    #[test]
    fn slashes_merge_unless_told_not_to() {
        assert_eq!(normal("//admin///x/"), "/admin/x/");
        let keep = PathPolicy {
            merge_slashes: false,
            ..PathPolicy::default()
        };
        let path = normalize_path("//admin//x/../y", keep).expect("accepted");
        assert_eq!(path, "//admin//y");
    }

    #[test]
    fn encoded_slashes_follow_the_policy() {
        assert_eq!(normal("/a%2Fb/%5c"), "/a%2Fb/%5C");
        let decode = PathPolicy {
            encoded_slashes: EncodedSlashes::Decode,
            ..PathPolicy::default()
        };
        let path = normalize_path("/public%2F..%2Fadmin", decode).expect("accepted");
        assert_eq!(path, "/admin");
        let reject = PathPolicy {
            encoded_slashes: EncodedSlashes::Reject,
            ..PathPolicy::default()
        };
        assert_eq!(normalize_path("/a%2fb", reject), Err(RejectedPath));
        assert_eq!(normalize_path("/a/b", reject).as_deref(), Ok("/a/b"));
    }

    #[test]
    fn normal_paths_are_not_copied() {
        for path in ["/", "/a/b", "/a/b/", "/a.b/c..d", "*"] {
            assert!(
                matches!(
                    normalize_path(path, PathPolicy::default()),
                    Ok(Cow::Borrowed(_))
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn non_ascii_bytes_are_kept() {
        assert_eq!(normal("/caf\u{e9}/./x"), "/caf\u{e9}/x");
    }
}
