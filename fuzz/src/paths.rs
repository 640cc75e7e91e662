//! Path normalisation under every policy: a normalised path is normal (normalising it again
//! changes nothing) and has no `.` or `..` segment left for a backend to resolve differently.

use portico_router::normalize::{EncodedSlashes, PathPolicy, normalize_path};

/// Normalise `data` (as text) under every policy.
pub fn normalize(data: &[u8]) {
    let path = String::from_utf8_lossy(data);
    for merge_slashes in [false, true] {
        for encoded_slashes in [
            EncodedSlashes::Keep,
            EncodedSlashes::Decode,
            EncodedSlashes::Reject,
        ] {
            let policy = PathPolicy {
                merge_slashes,
                encoded_slashes,
            };
            let Ok(normal) = normalize_path(&path, policy) else {
                continue;
            };
            if !path.starts_with('/') {
                assert_eq!(normal, path, "a path not starting with / must be kept");
                continue;
            }
            assert!(normal.starts_with('/'), "{path:?} became {normal:?}");
            let again = normalize_path(&normal, policy);
            assert_eq!(
                again.as_deref(),
                Ok(normal.as_ref()),
                "normalising {path:?} under {policy:?} is not idempotent"
            );
            assert!(
                !normal.split('/').any(|s| s == "." || s == ".."),
                "{path:?} kept a dot segment under {policy:?}: {normal:?}"
            );
            if merge_slashes {
                assert!(!normal.contains("//"), "{path:?} kept // : {normal:?}");
            }
        }
    }
}
