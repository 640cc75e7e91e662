//! The ClientHello reader as a TLS listener uses it, on every prefix of what arrived: a prefix
//! is incomplete until the hello is whole or invalid, and then the verdict never changes, so
//! reading more bytes can neither revive a refused stream nor change the name it is routed by.

use portico_edge::client_hello::{MAX_RECORD, Scan, scan as scan_hello};

/// Longest input whose prefixes are all read (one record header and body at most).
const PREFIXES_CHECKED: usize = 5 + MAX_RECORD;

/// Read every prefix of `data`.
pub fn scan(data: &[u8]) {
    let data = &data[..data.len().min(PREFIXES_CHECKED)];
    let mut verdict: Option<Scan<'_>> = None;
    for end in 0..=data.len() {
        let state = scan_hello(&data[..end]);
        match (verdict, state) {
            (None, Scan::Incomplete) => {}
            (None, decided) => verdict = Some(decided),
            (Some(earlier), now) => assert_eq!(
                earlier, now,
                "the verdict on {end} bytes differs from the one on fewer"
            ),
        }
    }
    if let Some(Scan::Hello(Some(name))) = verdict {
        assert!(!name.is_empty() && name.is_ascii(), "server name {name:?}");
    }
}
