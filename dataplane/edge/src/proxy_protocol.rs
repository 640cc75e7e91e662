//! The PROXY protocol header (versions 1 and 2, haproxy.org's specification) that a load
//! balancer in front of the data plane sends before anything else on a connection, naming the
//! real client's address. Parsed from the bytes read so far; the connection is refused when
//! the header is malformed, so a client cannot skip it or forge a partial one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version 2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// A version 1 header is at most this long, CRLF included.
const V1_MAX: usize = 107;

/// What the bytes read so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    /// More bytes are needed.
    Incomplete,
    /// A header of `length` bytes naming `source` as the client (`None`: the balancer speaks
    /// for itself, e.g. a health check, or the address family is unknown).
    Complete {
        /// Bytes the header takes.
        length: usize,
        /// The client's address.
        source: Option<SocketAddr>,
    },
    /// Not a valid header.
    Invalid,
}

/// Parse the header at the start of `bytes`.
pub fn parse(bytes: &[u8]) -> Parse {
    let signature = V2_SIGNATURE.len().min(bytes.len());
    if bytes.get(..signature) == V2_SIGNATURE.get(..signature) {
        parse_v2(bytes)
    } else if b"PROXY ".starts_with(&bytes[..bytes.len().min(6)]) {
        parse_v1(bytes)
    } else {
        Parse::Invalid
    }
}

/// `PROXY TCP4 192.0.2.1 198.51.100.1 51234 443\r\n`, or `PROXY UNKNOWN ...\r\n`.
fn parse_v1(bytes: &[u8]) -> Parse {
    let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") else {
        return if bytes.len() >= V1_MAX {
            Parse::Invalid
        } else {
            Parse::Incomplete
        };
    };
    let length = end + 2;
    if length > V1_MAX {
        return Parse::Invalid;
    }
    let Ok(line) = std::str::from_utf8(&bytes[..end]) else {
        return Parse::Invalid;
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let source = match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => None,
        [
            "PROXY",
            family @ ("TCP4" | "TCP6"),
            source,
            _destination,
            port,
            _,
        ] => {
            let (Ok(address), Ok(port)) = (source.parse::<IpAddr>(), port.parse::<u16>()) else {
                return Parse::Invalid;
            };
            if address.is_ipv4() != (*family == "TCP4") {
                return Parse::Invalid;
            }
            Some(SocketAddr::new(address, port))
        }
        _ => return Parse::Invalid,
    };
    Parse::Complete { length, source }
}

/// The binary form: signature, version and command, family, length, addresses, TLVs.
fn parse_v2(bytes: &[u8]) -> Parse {
    let Some(&[version_command, family, high, low]) = bytes.get(12..16) else {
        return Parse::Incomplete;
    };
    let length = 16 + usize::from(u16::from_be_bytes([high, low]));
    if version_command >> 4 != 2 {
        return Parse::Invalid;
    }
    let Some(body) = bytes.get(16..length) else {
        return Parse::Incomplete;
    };
    let source = match (version_command & 0x0f, family >> 4) {
        // LOCAL: the balancer's own connection.
        (0, _) => None,
        (1, 1) if body.len() >= 12 => {
            let address = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            Some(SocketAddr::new(
                address.into(),
                u16::from_be_bytes([body[8], body[9]]),
            ))
        }
        (1, 2) if body.len() >= 36 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[..16]);
            let port = u16::from_be_bytes([body[32], body[33]]);
            Some(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
        }
        (1, 0 | 3) => None,
        _ => return Parse::Invalid,
    };
    Parse::Complete { length, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> (usize, Option<SocketAddr>) {
        match parse(bytes) {
            Parse::Complete { length, source } => (length, source),
            other => panic!("{other:?} for {bytes:?}"),
        }
    }

    #[test]
    fn version_1_names_the_client_and_may_arrive_in_pieces() {
        let header = b"PROXY TCP4 192.0.2.1 198.51.100.1 51234 443\r\nGET / HTTP/1.1\r\n";
        let (length, source) = complete(header);
        assert_eq!(length, 45);
        assert_eq!(source, Some("192.0.2.1:51234".parse().expect("address")));
        for end in 0..length {
            assert_eq!(parse(&header[..end]), Parse::Incomplete, "{end}");
        }
        let six = b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n";
        assert_eq!(
            complete(six).1,
            Some("[2001:db8::1]:4000".parse().expect("address"))
        );
        assert_eq!(complete(b"PROXY UNKNOWN\r\n"), (15, None));
    }

    #[test]
    fn malformed_version_1_headers_are_invalid() {
        for header in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"PROXY TCP4 192.0.2.1 198.51.100.1 51234\r\n",
            b"PROXY TCP4 2001:db8::1 2001:db8::2 4000 443\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.1 70000 443\r\n",
            b"PROXY UDP4 192.0.2.1 198.51.100.1 1 2\r\n",
        ] {
            assert_eq!(parse(header), Parse::Invalid, "{header:?}");
        }
        let endless = [b"PROXY TCP4 ".as_slice(), &[b'1'; 200]].concat();
        assert_eq!(parse(&endless), Parse::Invalid);
    }

    fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut header = V2_SIGNATURE.to_vec();
        header.extend([0x20 | command, family]);
        header.extend(u16::try_from(body.len()).expect("short").to_be_bytes());
        header.extend(body);
        header
    }

    #[test]
    fn version_2_names_the_client_or_the_balancer_itself() {
        let mut body = vec![203, 0, 113, 9, 10, 0, 0, 1];
        body.extend(40000u16.to_be_bytes());
        body.extend(443u16.to_be_bytes());
        body.extend([0x04, 0, 1, 0]); // a TLV, skipped
        let header = v2(1, 0x11, &body);
        let (length, source) = complete(&header);
        assert_eq!(length, header.len());
        assert_eq!(source, Some("203.0.113.9:40000".parse().expect("address")));
        for end in 0..header.len() {
            assert_eq!(parse(&header[..end]), Parse::Incomplete, "{end}");
        }
        let mut six = [0u8; 36];
        six[15] = 1;
        six[32..34].copy_from_slice(&8080u16.to_be_bytes());
        assert_eq!(
            complete(&v2(1, 0x21, &six)).1,
            Some("[::1]:8080".parse().expect("address"))
        );
        assert_eq!(complete(&v2(0, 0x00, &[])).1, None);
    }

    #[test]
    fn malformed_version_2_headers_are_invalid() {
        let mut wrong_version = v2(1, 0x11, &[0; 12]);
        wrong_version[12] = 0x11;
        assert_eq!(parse(&wrong_version), Parse::Invalid);
        assert_eq!(parse(&v2(1, 0x11, &[0; 4])), Parse::Invalid);
        assert_eq!(parse(&v2(2, 0x11, &[0; 12])), Parse::Invalid);
    }
}
