//! A stable content hash (FNV-1a over the JSON form), so resource versions in snapshots and
//! golden files do not change with the Rust version or between runs.

pub(crate) fn content_version<T: serde::Serialize>(value: &T) -> u64 {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
