//! Where an HTTP/1 request head ends, found incrementally and within limits.
//!
//! Bytes are scanned once as they arrive, so a head that trickles in a byte at a time costs
//! time linear in its size. The scanner only delimits the head and counts its lines; parsing
//! stays with Pingora, which receives the complete head in one piece. A head breaking a limit
//! is refused as soon as the limit is crossed, without waiting for the rest.

/// Size limits of a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request line (method, target and version); longer gets 414.
    pub request_line_bytes: usize,
    /// Largest head (request line and header fields); larger gets 431.
    pub head_bytes: usize,
    /// Most header fields; more gets 431.
    pub header_count: usize,
}

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request line is longer than [`HeadLimits::request_line_bytes`].
    RequestLineTooLong,
    /// The head is larger than [`HeadLimits::head_bytes`].
    HeadTooLarge,
    /// The head has more fields than [`HeadLimits::header_count`].
    TooManyHeaders,
}

impl Refusal {
    /// The status answering the refused request.
    pub fn status(self) -> u16 {
        match self {
            Self::RequestLineTooLong => 414,
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
        }
    }

    /// A short label for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::RequestLineTooLong => "request_line_too_long",
            Self::HeadTooLarge => "head_too_large",
            Self::TooManyHeaders => "too_many_headers",
        }
    }
}

/// The state of a scan after the bytes seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The head is not complete yet.
    Incomplete,
    /// The head ends after this many bytes (the blank line included).
    Complete(usize),
    /// The head breaks a limit.
    Refused(Refusal),
}

/// Scans one request head fed in growing prefixes of the same buffer.
#[derive(Debug, Clone)]
pub struct HeadScanner {
    limits: HeadLimits,
    /// Bytes already scanned.
    scanned: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// Whether the request line has ended.
    request_line_seen: bool,
    /// Header field lines seen.
    headers: usize,
}

impl HeadScanner {
    /// A scanner for a new request.
    pub fn new(limits: HeadLimits) -> Self {
        Self {
            limits,
            scanned: 0,
            line_start: 0,
            request_line_seen: false,
            headers: 0,
        }
    }

    /// Scan what `buffer` gained since the last call. `buffer` must start with the bytes
    /// passed before. Blank lines before the request line are skipped (RFC 9112 §2.2); a line
    /// ends at LF, with or without CR in front, as Pingora's parser accepts.
    pub fn scan(&mut self, buffer: &[u8]) -> Scan {
        while let Some(offset) = buffer
            .get(self.scanned..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            let end = self.scanned + offset;
            let line = buffer.get(self.line_start..end).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(refusal) = self.exceeds(line.len(), end + 1) {
                return Scan::Refused(refusal);
            }
            self.scanned = end + 1;
            self.line_start = self.scanned;
            if line.is_empty() {
                if self.request_line_seen {
                    return Scan::Complete(self.scanned);
                }
            } else if !self.request_line_seen {
                self.request_line_seen = true;
            } else {
                self.headers += 1;
                if self.headers > self.limits.header_count {
                    return Scan::Refused(Refusal::TooManyHeaders);
                }
            }
        }
        self.scanned = buffer.len();
        // The open line may still lose a CR when its LF arrives.
        let open_line = buffer.len().saturating_sub(self.line_start + 1);
        match self.exceeds(open_line, buffer.len()) {
            Some(refusal) => Scan::Refused(refusal),
            None => Scan::Incomplete,
        }
    }

    /// The limit broken by a line of `line` bytes in a head of `head` bytes so far.
    fn exceeds(&self, line: usize, head: usize) -> Option<Refusal> {
        if !self.request_line_seen && line > self.limits.request_line_bytes {
            Some(Refusal::RequestLineTooLong)
        } else if head > self.limits.head_bytes {
            Some(Refusal::HeadTooLarge)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        request_line_bytes: 64,
        head_bytes: 256,
        header_count: 4,
    };

    /// Feed `head` in pieces of `step` bytes; the final state.
    fn scan_in_steps(head: &[u8], step: usize) -> Scan {
        let mut scanner = HeadScanner::new(LIMITS);
        let mut state = Scan::Incomplete;
        for end in (step..head.len() + step).step_by(step) {
            state = scanner.scan(&head[..end.min(head.len())]);
            if state != Scan::Incomplete {
                break;
            }
        }
        state
    }

    #[test]
    fn finds_the_end_of_a_head_however_it_is_split() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nbody";
        for step in 1..head.len() {
            assert_eq!(scan_in_steps(head, step), Scan::Complete(head.len() - 4));
        }
    }

    #[test]
    fn accepts_bare_line_feeds_and_skips_leading_blank_lines() {
        assert_eq!(
            scan_in_steps(b"GET / HTTP/1.1\nHost: a\n\n", 1),
            Scan::Complete(24)
        );
        assert_eq!(
            scan_in_steps(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 3),
            Scan::Complete(22)
        );
    }

    #[test]
    fn an_unfinished_head_is_incomplete() {
        assert_eq!(
            scan_in_steps(b"GET / HTTP/1.1\r\nHost: a\r\n", 5),
            Scan::Incomplete
        );
    }

    #[test]
    fn a_long_request_line_is_refused_before_it_ends() {
        let line = format!("GET /{} HTTP/1.1", "a".repeat(100));
        let state = scan_in_steps(&line.as_bytes()[..70], 7);
        assert_eq!(state, Scan::Refused(Refusal::RequestLineTooLong));
        assert_eq!(Refusal::RequestLineTooLong.status(), 414);
    }

    #[test]
    fn a_large_head_is_refused_before_it_ends() {
        let head = format!("GET / HTTP/1.1\r\nCookie: {}", "c".repeat(300));
        let state = scan_in_steps(head.as_bytes(), 16);
        assert_eq!(state, Scan::Refused(Refusal::HeadTooLarge));
        assert_eq!(Refusal::HeadTooLarge.status(), 431);
    }

    #[test]
    fn too_many_fields_are_refused() {
        let head = "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n";
        assert_eq!(
            scan_in_steps(head.as_bytes(), 8),
            Scan::Complete(head.len())
        );
        let head = "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n";
        assert_eq!(
            scan_in_steps(head.as_bytes(), 8),
            Scan::Refused(Refusal::TooManyHeaders)
        );
    }

    #[test]
    fn a_head_of_exactly_the_limit_is_accepted() {
        let filler = 256 - "GET / HTTP/1.1\r\nX: \r\n\r\n".len();
        let head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "x".repeat(filler));
        assert_eq!(head.len(), 256);
        assert_eq!(scan_in_steps(head.as_bytes(), 1), Scan::Complete(256));
        let head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "x".repeat(filler + 1));
        let state = scan_in_steps(head.as_bytes(), 1);
        assert_eq!(state, Scan::Refused(Refusal::HeadTooLarge));
    }

    #[test]
    fn a_request_line_of_exactly_the_limit_is_accepted() {
        let line = format!("GET /{} HTTP/1.1", "a".repeat(64 - 14));
        assert_eq!(line.len(), 64);
        let head = format!("{line}\r\n\r\n");
        assert_eq!(scan_in_steps(head.as_bytes(), 1), Scan::Complete(68));
        let head = format!("{line}a\r\n\r\n");
        let state = scan_in_steps(head.as_bytes(), 1);
        assert_eq!(state, Scan::Refused(Refusal::RequestLineTooLong));
    }
}
