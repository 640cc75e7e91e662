//! Splitting one fuzz input into the several values a target needs, so every byte the fuzzer
//! changes reaches some field.

/// A reader over fuzz input: small numbers from the front, byte fields delimited by `0xff`.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    /// Read from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// The next byte, or 0 when the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&first, rest)) => {
                self.rest = rest;
                first
            }
            None => 0,
        }
    }

    /// The bytes up to the next `0xff` (or the end), which is consumed.
    pub fn field(&mut self) -> &'a [u8] {
        match self.rest.iter().position(|&b| b == 0xff) {
            Some(end) => {
                let field = &self.rest[..end];
                self.rest = &self.rest[end + 1..];
                field
            }
            None => std::mem::take(&mut self.rest),
        }
    }

    /// The next field as text (invalid UTF-8 replaced).
    pub fn text(&mut self) -> String {
        String::from_utf8_lossy(self.field()).into_owned()
    }

    /// Whatever is left.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }
}
