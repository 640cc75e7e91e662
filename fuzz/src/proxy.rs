//! The PROXY protocol parser as a connection uses it, on every prefix of what arrived: a
//! prefix is incomplete until the header is complete or invalid, and then the verdict never
//! changes, so reading more bytes can neither revive a refused header nor change a parsed one.

use portico_edge::proxy_protocol::{Parse, parse as parse_header};

/// Longest input whose prefixes are all parsed (a v2 header's length field can ask for 64 KiB;
/// past this the same property holds and would only cost time).
const PREFIXES_CHECKED: usize = 1024;

/// Parse every prefix of `data`.
pub fn parse(data: &[u8]) {
    let data = &data[..data.len().min(PREFIXES_CHECKED)];
    let mut verdict: Option<Parse> = None;
    for end in 0..=data.len() {
        let state = parse_header(&data[..end]);
        match (verdict, state) {
            (None, Parse::Incomplete) => {}
            (None, decided) => {
                if let Parse::Complete { length, .. } = decided {
                    assert!(length <= end, "a header longer than the bytes it came from");
                }
                verdict = Some(decided);
            }
            (Some(earlier), now) => assert_eq!(
                earlier, now,
                "the verdict on {end} bytes differs from the one on fewer"
            ),
        }
    }
}
