//! YAML documents as `portico standalone` reads them, through translation: whatever the text,
//! parsing reports problems instead of failing, and every snapshot translation produces is one
//! the data plane accepts (it validates and builds a router).

use portico_translate::{Options, Output, Parsed, merge, parse_documents, translate};

/// Parse `data` as YAML documents and translate them.
pub fn documents(data: &[u8]) {
    let output = translated(&String::from_utf8_lossy(data));
    // One shared data plane receives every Gateway, as in standalone mode.
    let snapshot = merge(1, &output.gateways);
    if let Err(error) = portico_snapshot::validate(&snapshot) {
        panic!("translation produced a snapshot the data plane rejects: {error}");
    }
    if let Err(error) = portico_router::Router::build(&snapshot) {
        panic!("translation produced a snapshot no router can be built from: {error}");
    }
}

/// What translation makes of the YAML documents in `text`, with default options.
pub fn translated(text: &str) -> Output {
    let mut parsed = Parsed::default();
    parse_documents(text, &mut parsed);
    translate(&parsed.resources, &Options::default())
}
