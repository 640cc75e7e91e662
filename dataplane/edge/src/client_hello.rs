//! The server name (SNI, RFC 6066) of a TLS ClientHello, read from the first bytes a client
//! sends on a TLS listener, before any TLS is spoken: the data plane routes the stream by it,
//! and forwards those bytes unchanged (passthrough) or hands them to its own TLS (terminate).
//!
//! Only the first record is read. A ClientHello fits one record (at most 16 KiB) unless a
//! client fragments it on purpose, which none of the common TLS stacks do; a fragmented one is
//! refused, so a client cannot make the data plane buffer more than one record.

/// The largest TLS plaintext record body (RFC 8446, section 5.1).
pub const MAX_RECORD: usize = 1 << 14;

/// The record header: content type, legacy version, length.
const RECORD_HEADER: usize = 5;

/// What the bytes read so far hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan<'a> {
    /// More bytes are needed (never more than [`RECORD_HEADER`] + [`MAX_RECORD`] in all).
    Incomplete,
    /// A whole ClientHello, naming this server (ASCII, as sent), or none.
    Hello(Option<&'a str>),
    /// Not a TLS ClientHello, or a malformed one.
    Invalid,
}

/// Read the ClientHello at the start of `bytes`.
pub fn scan(bytes: &[u8]) -> Scan<'_> {
    let Some(header) = bytes.get(..RECORD_HEADER) else {
        // Refuse what cannot become a handshake record as soon as it shows.
        return match bytes.first() {
            Some(&kind) if kind != HANDSHAKE => Scan::Invalid,
            _ => Scan::Incomplete,
        };
    };
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if header[0] != HANDSHAKE || header[1] != 3 || length == 0 || length > MAX_RECORD {
        return Scan::Invalid;
    }
    let Some(record) = bytes.get(RECORD_HEADER..RECORD_HEADER + length) else {
        return Scan::Incomplete;
    };
    match client_hello(&mut Reader(record)) {
        Some(name) => Scan::Hello(name),
        None => Scan::Invalid,
    }
}

/// Content type of a handshake record.
const HANDSHAKE: u8 = 22;
/// Handshake type of a ClientHello.
const CLIENT_HELLO: u8 = 1;
/// Extension type of `server_name`.
const SERVER_NAME: u16 = 0;
/// Name type of a DNS host name in `server_name`.
const HOST_NAME: u8 = 0;

/// The server name of the ClientHello in `record`; `None` when it is malformed (the outer
/// option), or names no host (the inner).
fn client_hello<'a>(record: &mut Reader<'a>) -> Option<Option<&'a str>> {
    if record.u8()? != CLIENT_HELLO {
        return None;
    }
    let length = record.u24()?;
    // The whole message must be in this record.
    let mut hello = Reader(record.take(length)?);
    hello.take(2 + 32)?; // legacy_version, random
    hello.vector_u8()?; // legacy_session_id
    hello.vector_u16()?; // cipher_suites
    hello.vector_u8()?; // legacy_compression_methods
    if hello.0.is_empty() {
        return Some(None); // No extensions at all.
    }
    let mut extensions = Reader(hello.vector_u16()?);
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let mut data = Reader(extensions.vector_u16()?);
        if kind == SERVER_NAME {
            return host_name(&mut data).map(Some);
        }
    }
    Some(None)
}

/// The host name in a `server_name` extension.
fn host_name<'a>(data: &mut Reader<'a>) -> Option<&'a str> {
    let mut names = Reader(data.vector_u16()?);
    while !names.0.is_empty() {
        let kind = names.u8()?;
        let name = names.vector_u16()?;
        if kind == HOST_NAME {
            let valid = !name.is_empty()
                && name.len() <= 255
                && name
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            return valid.then(|| std::str::from_utf8(name).ok()).flatten();
        }
    }
    None
}

/// Reads big-endian fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    fn vector_u8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vector_u16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record with `extensions` (each a type and its data).
    pub(crate) fn hello(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([7; 32]); // random
        body.push(0); // no session id
        body.extend([0, 2, 0x13, 0x01]); // one cipher suite
        body.extend([1, 0]); // null compression
        let mut list = Vec::new();
        for (kind, data) in extensions {
            list.extend(kind.to_be_bytes());
            list.extend((data.len() as u16).to_be_bytes());
            list.extend(data);
        }
        body.extend((list.len() as u16).to_be_bytes());
        body.extend(list);
        let mut message = vec![CLIENT_HELLO, 0];
        message.extend((body.len() as u16).to_be_bytes());
        message.extend(body);
        let mut record = vec![HANDSHAKE, 3, 1];
        record.extend((message.len() as u16).to_be_bytes());
        record.extend(message);
        record
    }

    fn sni(name: &str) -> (u16, Vec<u8>) {
        let mut entry = vec![HOST_NAME];
        entry.extend((name.len() as u16).to_be_bytes());
        entry.extend(name.as_bytes());
        let mut data = (entry.len() as u16).to_be_bytes().to_vec();
        data.extend(entry);
        (SERVER_NAME, data)
    }

    #[test]
    fn finds_the_server_name_among_other_extensions() {
        let record = hello(&[
            (10, vec![0, 2, 0, 29]),
            sni("abc.example.com"),
            (43, vec![2, 3, 4]),
        ]);
        assert_eq!(scan(&record), Scan::Hello(Some("abc.example.com")));
    }

    #[test]
    fn a_hello_without_a_server_name_names_none() {
        assert_eq!(scan(&hello(&[(10, vec![0, 2, 0, 29])])), Scan::Hello(None));
        assert_eq!(scan(&hello(&[])), Scan::Hello(None));
    }

    #[test]
    fn every_prefix_of_a_hello_is_incomplete() {
        let record = hello(&[sni("a.example.com")]);
        for end in 0..record.len() {
            assert_eq!(
                scan(&record[..end]),
                Scan::Incomplete,
                "prefix of {end} bytes"
            );
        }
    }

    #[test]
    fn what_is_not_a_client_hello_is_invalid_as_soon_as_it_shows() {
        assert_eq!(scan(b"G"), Scan::Invalid);
        assert_eq!(scan(b"GET / HTTP/1.1\r\n"), Scan::Invalid);
        // A record longer than TLS allows.
        assert_eq!(scan(&[HANDSHAKE, 3, 1, 0x40, 0x01]), Scan::Invalid);
        // A handshake message longer than its record (fragmented on purpose).
        let mut record = hello(&[sni("a.example.com")]);
        record[7] += 1;
        assert_eq!(scan(&record), Scan::Invalid);
        // A name with bytes no host name has.
        assert_eq!(scan(&hello(&[sni("a b")])), Scan::Invalid);
    }
}
