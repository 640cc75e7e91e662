//! YAML documents as `portico standalone` reads them, through translation: whatever the text,
//! parsing reports problems instead of failing, and every snapshot translation produces is one
//! the data plane accepts (it validates and builds a router).

use portico_translate::{Options, translate};
use portico_translate::{Parsed, parse_documents};

use crate::snapshot::assemble;

/// Parse `data` as YAML documents and translate them.
pub fn documents(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parsed = Parsed::default();
    parse_documents(&text, &mut parsed);
    let output = translate(&parsed.resources, &Options::default());
    let snapshot = assemble(&output);
    if let Err(error) = portico_snapshot::validate(&snapshot) {
        panic!("translation produced a snapshot the data plane rejects: {error}");
    }
    if let Err(error) = portico_router::Router::build(&snapshot) {
        panic!("translation produced a snapshot no router can be built from: {error}");
    }
}
