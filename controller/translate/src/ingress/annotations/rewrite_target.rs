//! `rewrite-target`: the path a request is forwarded with. ingress-nginx makes the Ingress's
//! paths regular expressions and rewrites the whole path (`rewrite "(?i)^path" target`), so a
//! target without captures replaces the whole path. With captures, the one idiom that prefix
//! matching can express is carried over exactly: a path `/prefix(/|$)(.*)` with a target
//! `/new/$2` forwards the rest of the path after `/new`. Other captures would need a
//! regular-expression rewrite, which Gateway API has no filter for: such a path is reported.

use super::{Annotations, Feature, Plan};
use crate::ingress::output::{PathKind, PathMatch, PathModifier};
use crate::ingress::report::Outcome;

pub(super) const FEATURE: Feature = Feature {
    names: &["rewrite-target"],
    apply,
};

fn apply(annotations: &Annotations<'_>, plan: &mut Plan) -> Outcome {
    plan.rewrite_target = annotations.get("rewrite-target").map(str::to_string);
    plan.regex_paths = true;
    Outcome::Translated
}

/// How a path of an Ingress with `target` is matched and rewritten; the error says why it
/// cannot be.
pub fn rewrite(path: &str, target: &str) -> Result<(PathMatch, PathModifier), String> {
    if !target.contains('$') {
        let matched = PathMatch {
            kind: PathKind::RegularExpression,
            value: super::use_regex::whole_path_expression(path),
        };
        let full = PathModifier::ReplaceFullPath {
            path: target.to_string(),
        };
        return Ok((matched, full));
    }
    let prefix = path
        .strip_suffix("(/|$)(.*)")
        .filter(|p| p.starts_with('/') && !p.contains(is_regex_syntax))
        .ok_or_else(|| {
            format!(
                "path {path:?} with captures in {target:?} needs a regular-expression rewrite; \
                 only `/prefix(/|$)(.*)` with a target ending in `$2` can be carried over"
            )
        })?;
    let base = target
        .strip_suffix("$2")
        .filter(|base| !base.contains('$'))
        .ok_or_else(|| format!("target {target:?} must end with `$2` (the rest of the path)"))?;
    let base = match base.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let matched = PathMatch {
        kind: PathKind::PathPrefix,
        value: prefix.to_string(),
    };
    let replace = PathModifier::ReplacePrefixMatch {
        prefix: base.to_string(),
    };
    Ok((matched, replace))
}

fn is_regex_syntax(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '[' | ']' | '{' | '}' | '*' | '+' | '?' | '|' | '^' | '$' | '\\' | '.'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_without_captures_replaces_the_whole_matched_path() {
        let (matched, modifier) = rewrite("/old", "/").expect("rewritten");
        assert_eq!(matched.kind, PathKind::RegularExpression);
        assert_eq!(matched.value, "(?i)(?:/old).*");
        assert_eq!(modifier, PathModifier::ReplaceFullPath { path: "/".into() });
    }

    #[test]
    fn the_rest_of_the_path_idiom_becomes_a_prefix_replacement() {
        let (matched, modifier) = rewrite("/api(/|$)(.*)", "/$2").expect("rewritten");
        assert_eq!(
            (matched.kind, matched.value.as_str()),
            (PathKind::PathPrefix, "/api")
        );
        assert_eq!(
            modifier,
            PathModifier::ReplacePrefixMatch { prefix: "/".into() }
        );
        let (_, modifier) = rewrite("/shop(/|$)(.*)", "/store/$2").expect("rewritten");
        assert_eq!(
            modifier,
            PathModifier::ReplacePrefixMatch {
                prefix: "/store".into()
            }
        );
    }

    #[test]
    fn other_captures_are_refused_with_a_reason() {
        assert!(rewrite("/(en|fr)/(.*)", "/$2?lang=$1").is_err());
        assert!(rewrite("/api(/|$)(.*)", "/$1").is_err());
        assert!(rewrite("/v[0-9](/|$)(.*)", "/$2").is_err());
    }
}
