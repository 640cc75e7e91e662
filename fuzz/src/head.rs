//! The HTTP/1 head scanner fed the way a socket feeds it: in pieces whose sizes come from the
//! input. However the bytes are split, the scan ends the same way as over the whole buffer,
//! and a complete head ends with a blank line, within the limits.

use portico_edge::request_head::{HeadLimits, HeadScanner, Scan};

use crate::input::Input;

/// Scan the rest of `data` as a request head, in pieces sized by its first bytes, under small
/// limits so they are reached.
pub fn scan(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = HeadLimits {
        request_line_bytes: usize::from(input.byte() % 64) + 1,
        head_bytes: usize::from(input.byte()) * 2 + 1,
        header_count: usize::from(input.byte() % 16),
    };
    let steps: Vec<usize> = (0..8).map(|_| usize::from(input.byte() % 32) + 1).collect();
    let head = input.rest();

    let whole = HeadScanner::new(limits).scan(head);
    let mut scanner = HeadScanner::new(limits);
    let mut end = 0;
    let mut pieces = steps.iter().cycle();
    let in_pieces = loop {
        end = (end + pieces.next().copied().unwrap_or(1)).min(head.len());
        let state = scanner.scan(&head[..end]);
        if state != Scan::Incomplete || end == head.len() {
            break state;
        }
    };
    match (whole, in_pieces) {
        (Scan::Complete(a), Scan::Complete(b)) => {
            assert_eq!(a, b, "the head ends at {a} read whole, at {b} in pieces");
            let complete = &head[..a];
            assert!(
                complete.ends_with(b"\n\n") || complete.ends_with(b"\n\r\n"),
                "a complete head must end with a blank line"
            );
            assert!(a <= limits.head_bytes, "a head over the limit completed");
        }
        // Both refused; which limit is named first may differ with where a piece ended.
        (Scan::Refused(_), Scan::Refused(_)) | (Scan::Incomplete, Scan::Incomplete) => {}
        (whole, in_pieces) => {
            panic!("read whole the scan gives {whole:?}, in pieces {in_pieces:?}")
        }
    }
}
