//! Label selectors over namespaces, as `allowedRoutes` and `allowedListeners` use them: does a
//! namespace's labels match `matchLabels` and every `matchExpressions` entry?

use std::collections::BTreeMap;

use crate::resources::Index;

/// One `matchExpressions` entry, as every generated selector type spells it.
pub(crate) struct Expression<'a> {
    pub key: &'a str,
    pub operator: &'a str,
    pub values: &'a [String],
}

/// A label selector of any of the API's generated types.
macro_rules! namespace_selector {
    ($selector:expr) => {
        $crate::namespace_selectors::Selector {
            match_labels: $selector.match_labels.as_ref(),
            expressions: $selector
                .match_expressions
                .iter()
                .flatten()
                .map(|e| $crate::namespace_selectors::Expression {
                    key: &e.key,
                    operator: &e.operator,
                    values: e.values.as_deref().unwrap_or(&[]),
                })
                .collect(),
        }
    };
}
pub(crate) use namespace_selector;

/// `matchLabels` and `matchExpressions`, all of which must hold.
pub(crate) struct Selector<'a> {
    pub match_labels: Option<&'a BTreeMap<String, String>>,
    pub expressions: Vec<Expression<'a>>,
}

impl Selector<'_> {
    /// Does `namespace` carry matching labels? A namespace we were not given has none; an
    /// unknown operator matches nothing.
    pub fn selects(&self, index: &Index<'_>, namespace: &str) -> bool {
        let empty = BTreeMap::new();
        let labels = index.namespace_labels(namespace).unwrap_or(&empty);
        let labels_ok = self
            .match_labels
            .iter()
            .flat_map(|m| m.iter())
            .all(|(k, v)| labels.get(k) == Some(v));
        labels_ok
            && self.expressions.iter().all(|e| {
                let value = labels.get(e.key);
                match e.operator {
                    "In" => value.is_some_and(|v| e.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}
